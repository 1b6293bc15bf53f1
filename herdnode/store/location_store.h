// The latest location of every client this node has heard of, ordered by
// exact client time, plus a local acceptance sequence that pages catch-up.
#ifndef HERD_HERDNODE_STORE_LOCATION_STORE_H_
#define HERD_HERDNODE_STORE_LOCATION_STORE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "common/mutex.h"
#include "herd/v1/herd.pb.h"
#include "herdnode/store/compact_location.h"
#include "herdnode/store/seq_index.h"

namespace herd {

struct StoreEntry {
  uint64_t seq = 0;  // when this node accepted it (local, per incarnation)
  v1::Location location;
};

struct StorePage {
  std::vector<StoreEntry> entries;  // increasing seq
  bool more = false;                // entries were cut at the page size
};

// Thread-safe. Built for a million clients per node: each client is one
// CompactLocation (its texts verbatim, so any server can rebuild the
// original AT line, in one heap block of about 100 bytes) in a flat hash set
// keyed by the client ID inside the record, plus a 16-byte entry for its
// current seq in a SeqIndex: about 145 bytes per client in all, where a
// v1::Location per client took about 570 (docs/PERFORMANCE.md). Get and
// EntriesAfter copy records out under the lock and build the v1::Location
// after releasing it, so a Sync page holds up Offer only briefly.
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
  // The hash set's element. Hash and equality look only at the client ID,
  // which a slot never changes, so its record may be replaced in place.
  struct Slot {
    mutable CompactLocation record;
  };
  struct SlotHash {
    using is_transparent = void;
    size_t operator()(absl::string_view client_id) const;
    size_t operator()(const Slot& slot) const;
  };
  struct SlotEq {
    using is_transparent = void;
    bool operator()(const Slot& a, const Slot& b) const;
    bool operator()(const Slot& a, absl::string_view b) const;
    bool operator()(absl::string_view a, const Slot& b) const;
  };

  // Records copied out under the lock, decoded after it is released.
  class Copies;

  // The index of an origin server's name, interning it on first sight.
  uint16_t InternServer(const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable Mutex mu_;
  absl::flat_hash_set<Slot, SlotHash, SlotEq> by_client_ ABSL_GUARDED_BY(mu_);
  // Each client's current seq -> its record (the record's data()).
  SeqIndex by_seq_ ABSL_GUARDED_BY(mu_);
  // Names of origin servers (a deque: names never move, so a copy made
  // under the lock can point at one after it is released).
  std::deque<std::string> servers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint16_t> server_index_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace herd

#endif  // HERD_HERDNODE_STORE_LOCATION_STORE_H_
