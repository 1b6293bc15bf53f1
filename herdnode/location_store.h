// The latest location of every client this node has heard of, ordered by
// exact client time, plus a local acceptance sequence that pages catch-up.
#ifndef HERD_HERDNODE_LOCATION_STORE_H_
#define HERD_HERDNODE_LOCATION_STORE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "herd/v1/herd.pb.h"

namespace herd {

struct StoreEntry {
  uint64_t seq = 0;  // when this node accepted it (local, per incarnation)
  v1::Location location;
};

struct StorePage {
  std::vector<StoreEntry> entries;  // increasing seq
  bool more = false;                // entries were cut at the page size
};

// Thread-safe. Each entry keeps the Location proto itself (about 200-300
// bytes with its strings): the texts must be kept verbatim anyway so any
// server can rebuild the original AT line, and handing out protos avoids a
// conversion on every Get and Sync.
class LocationStore {
 public:
  // Stores location if its client time is strictly newer than the one held
  // for that client: ACCEPTED (with a new sequence number), else DUPLICATE
  // (same instant) or STALE (older).
  v1::UpdateOutcome Offer(const v1::Location& location);

  std::optional<v1::Location> Get(std::string_view client_id) const;

  // Up to max current entries with seq > after_seq, lowest seq first. An
  // entry replaced while a puller pages moves to a higher seq, so the puller
  // still gets its newest version on a later page.
  StorePage EntriesAfter(uint64_t after_seq, size_t max) const;

  size_t size() const;

  // The sequence number of the newest acceptance so far (0: none).
  uint64_t last_seq() const;

 private:
  struct Slot {
    uint64_t seq = 0;
    v1::Location location;
  };
  using ByClient = absl::node_hash_map<std::string, Slot>;

  mutable absl::Mutex mu_;
  // node_hash_map: slots never move, so the seq index can point at them.
  ByClient by_client_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<uint64_t, const ByClient::value_type*> by_seq_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace herd

#endif  // HERD_HERDNODE_LOCATION_STORE_H_
