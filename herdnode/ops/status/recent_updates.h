// The status page's "recent updates": the last few updates this node
// accepted, kept in a small ring. It is a PeerSink of the Flooder, so it sees
// exactly what the peers and watchers see, when they see it.
#ifndef HERD_HERDNODE_OPS_STATUS_RECENT_UPDATES_H_
#define HERD_HERDNODE_OPS_STATUS_RECENT_UPDATES_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/mutex.h"
#include "herd/v1/herd.pb.h"
#include "herdnode/store/flooding.h"

namespace herd {

struct RecentUpdate {
  v1::Location location;
  absl::Time accepted_at;  // this node's clock when it accepted it
  uint64_t number = 0;     // 1 for the first update since start, and so on
};

// Thread-safe. Send() only copies one Location under a short lock, so the
// flooding path never waits for a page being rendered.
class RecentUpdates final : public PeerSink {
 public:
  explicit RecentUpdates(size_t capacity = 50);

  // No server name contains a space, so the Flooder never takes this for
  // the sender of an update and always hands it every accepted one.
  std::string_view name() const override { return " recent updates"; }
  void Send(const v1::Location& location) override;

  // The updates kept, newest first.
  std::vector<RecentUpdate> NewestFirst() const;
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable Mutex mu_;
  std::deque<RecentUpdate> updates_ ABSL_GUARDED_BY(mu_);  // oldest first
  uint64_t accepted_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace herd

#endif  // HERD_HERDNODE_OPS_STATUS_RECENT_UPDATES_H_
