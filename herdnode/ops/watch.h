// Watch: server-streaming location changes for operators. The hub is a
// PeerSink of the Flooder, so it sees every ACCEPTED update exactly when the
// peers do, and fans it out to the open Watch streams.
//
// A slow watcher never slows the node: Send() only appends to each
// watcher's bounded queue under a short lock; when a queue is full the
// change is dropped and counted, and the watcher later receives one
// `dropped` event (in the place of the gap) saying how many it missed.
#ifndef HERD_HERDNODE_OPS_WATCH_H_
#define HERD_HERDNODE_OPS_WATCH_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "common/cq_reactor.h"
#include "common/mutex.h"
#include "herd/v1/herd.grpc.pb.h"
#include "herdnode/ops/metrics.h"
#include "herdnode/store/flooding.h"
#include "spdlog/logger.h"

namespace herd {

// Whether a WatchRequest's circle (if any) is usable; errors name the field.
absl::Status CheckWatchRequest(const v1::WatchRequest& request);
// Whether location passes the request's filter.
bool WatchMatches(const v1::WatchRequest& request,
                  const v1::Location& location);

// The bounded per-watcher queue (no gRPC in it, so it is tested alone):
// at most max_locations locations plus one trailing `dropped` event.
class WatchQueue {
 public:
  explicit WatchQueue(size_t max_locations) : max_(max_locations) {}
  // Appends, or counts a drop if full. Returns how many were dropped (0/1).
  uint64_t Push(const v1::Location& location);
  // The oldest event, if any.
  std::optional<v1::WatchEvent> Pop();
  bool empty() const { return events_.empty(); }

 private:
  const size_t max_;
  size_t locations_ = 0;
  std::deque<v1::WatchEvent> events_;
};

class WatchHub final : public PeerSink {
 public:
  // Each watcher buffers at most max_queued changes.
  explicit WatchHub(std::shared_ptr<NodeMetrics> metrics,
                    size_t max_queued = 1024);
  ~WatchHub() override;

  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // No server name contains a space, so the Flooder never takes the hub
  // for the sender of an update and skips it.
  std::string_view name() const override { return " watchers"; }
  // Offers an accepted update to every watcher. Never blocks on a watcher.
  void Send(const v1::Location& location) override;

  // The calls of service's Watch, for ServerCalls::Serve (each lives until
  // gRPC is done with it). The hub must outlive them.
  ServerCalls::Factory Calls(v1::HerdNode::AsyncService& service,
                             std::shared_ptr<spdlog::logger> log);
  // Ends every open stream (OK) and refuses new ones, so that a server
  // shutting down does not wait for streams that never end by themselves.
  void Stop();

  size_t watchers() const;

 private:
  class Watcher;
  friend class Watcher;
  // A Watch call arrived; it is served until it ends or Stop().
  void Add(Watcher* watcher);
  void Remove(Watcher* watcher);

  const std::shared_ptr<NodeMetrics> metrics_;
  const size_t max_queued_;
  mutable Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // The open streams (each owns itself, see cq_reactor.h).
  absl::flat_hash_set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd

#endif  // HERD_HERDNODE_OPS_WATCH_H_
