#include "herdnode/ops/watch.h"

#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_handoff.h"
#include "common/status_text.h"
#include "herdnode/places/great_circle.h"

namespace herd {

absl::Status CheckWatchRequest(const v1::WatchRequest& request) {
  if (!request.has_within()) return absl::OkStatus();
  const v1::Circle& circle = request.within();
  // Written so that NaN fails too.
  if (!(circle.latitude() >= -90 && circle.latitude() <= 90)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "within.latitude ", circle.latitude(), " is not in [-90, 90]"));
  }
  if (!(circle.longitude() >= -180 && circle.longitude() <= 180)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "within.longitude ", circle.longitude(), " is not in [-180, 180]"));
  }
  if (!(circle.radius_km() > 0 && std::isfinite(circle.radius_km()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "within.radius_km ", circle.radius_km(), " is not a positive number"));
  }
  return absl::OkStatus();
}

bool WatchMatches(const v1::WatchRequest& request,
                  const v1::Location& location) {
  if (!request.has_within()) return true;
  const v1::Circle& circle = request.within();
  return places::GreatCircleKm(circle.latitude(), circle.longitude(),
                               location.latitude(),
                               location.longitude()) <= circle.radius_km();
}

uint64_t WatchQueue::Push(const v1::Location& location) {
  if (locations_ < max_) {
    *events_.emplace_back().mutable_location() = location;
    ++locations_;
    return 0;
  }
  // Full: the gap is marked by one `dropped` event after the last location
  // kept, which counts every change lost there.
  if (events_.empty() ||
      events_.back().event_case() != v1::WatchEvent::kDropped) {
    events_.emplace_back().set_dropped(0);
  }
  events_.back().set_dropped(events_.back().dropped() + 1);
  return 1;
}

std::optional<v1::WatchEvent> WatchQueue::Pop() {
  if (events_.empty()) return std::nullopt;
  v1::WatchEvent event = std::move(events_.front());
  events_.pop_front();
  if (event.has_location()) --locations_;
  return event;
}

// One Watch stream. Its reactions run on a poller thread; the hub calls
// Offer from whichever thread floods. At most one write is in flight; the
// call's own operations (StartWrite, Finish) are started outside mu_.
class WatchHub::Watcher final
    : public ServerWriteCall<v1::WatchRequest, v1::WatchEvent> {
 public:
  Watcher(WatchHub& hub, v1::HerdNode::AsyncService& service,
          const std::shared_ptr<spdlog::logger>& log)
      : hub_(hub), service_(service), log_(log), queue_(hub.max_queued_) {}

  void Begin() override {
    log_->info("operator IN Watch from {} {}", context().peer(),
               request().ShortDebugString());
    hub_.Add(this);
  }

  void Offer(const v1::Location& location) {
    if (!WatchMatches(request(), location)) return;
    bool write = false;
    {
      MutexLock lock(&mu_);
      if (finishing_) return;
      if (queue_.Push(location) != 0) hub_.metrics_->OnWatchEventsDropped(1);
      write = TakeNextLocked();
    }
    if (write) Write();
  }

  // Ends the stream with status once the write in flight (if any) is done.
  void End(grpc::Status status) {
    bool finish = false;
    {
      MutexLock lock(&mu_);
      if (finishing_) return;
      end_status_ = std::move(status);
      finishing_ = true;
      finish = ClaimFinishLocked();  // else OnWriteDone finishes
    }
    if (finish) FinishNow();
  }

  void OnWriteDone(bool ok) override {
    bool write = false;
    bool finish = false;
    {
      MutexLock lock(&mu_);
      writing_ = false;
      if (!ok && !finishing_) {
        // The stream broke (the watcher went away): nothing more to send.
        finishing_ = true;
        end_status_ =
            grpc::Status(grpc::StatusCode::CANCELLED, "watch stream broken");
      }
      if (!finishing_) write = TakeNextLocked();
      finish = ClaimFinishLocked();
    }
    if (write) Write();
    if (finish) FinishNow();
  }

  void OnCancel() override {
    End(grpc::Status(grpc::StatusCode::CANCELLED, "watcher cancelled"));
  }

  // gRPC is done with this call: the hub forgets it (it is destroyed
  // next).
  void OnDone() override { hub_.Remove(this); }

 private:
  void RequestCall(grpc::ServerCompletionQueue* queue,
                   CompletionTag* tag) override {
    service_.RequestWatch(&context(), mutable_request(), stream(), queue, queue,
                          tag);
  }

  void Write() { StartWrite(&current_); }
  void FinishNow() {
    grpc::Status status = end_status_;  // read before the hand-off
    Finish(std::move(status));
  }

  // True exactly once: when the stream is to end and no write is in
  // flight. The caller then calls Finish.
  bool ClaimFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!finishing_ || writing_ || finish_called_) return false;
    finish_called_ = true;
    return true;
  }

  // Moves the next event into current_ if no write is in flight.
  bool TakeNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_) return false;
    std::optional<v1::WatchEvent> next = queue_.Pop();
    if (!next.has_value()) return false;
    current_ = std::move(*next);
    writing_ = true;
    return true;
  }

  WatchHub& hub_;
  v1::HerdNode::AsyncService& service_;
  const std::shared_ptr<spdlog::logger>& log_;  // the factory's
  Mutex mu_;
  WatchQueue queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
  // Written before finishing_ is set, read only after.
  grpc::Status end_status_;
  // The event being written; untouched while writing_.
  v1::WatchEvent current_;
};

WatchHub::WatchHub(std::shared_ptr<NodeMetrics> metrics, size_t max_queued)
    : metrics_(std::move(metrics)), max_queued_(max_queued) {}

WatchHub::~WatchHub() {
  // The last Remove ran on a poller thread before the server's calls were
  // all over (NodeService::ServersStopped); taking mu_ makes that order visible
  // to ThreadSanitizer (gRPC's own synchronization is not) before the map is
  // destroyed.
  MutexLock lock(&mu_);
}

void WatchHub::Send(const v1::Location& location) {
  MutexLock lock(&mu_);
  for (Watcher* watcher : watchers_) watcher->Offer(location);
}

ServerCalls::Factory WatchHub::Calls(v1::HerdNode::AsyncService& service,
                                     std::shared_ptr<spdlog::logger> log) {
  return [this, &service,
          log = std::move(log)]() -> std::unique_ptr<ServerCallBase> {
    return std::make_unique<Watcher>(*this, service, log);
  };
}

void WatchHub::Add(Watcher* watcher) {
  bool stopped = false;
  {
    MutexLock lock(&mu_);
    stopped = stopped_;
    watchers_.insert(watcher);
  }
  metrics_->OnWatcherOpened();
  if (stopped) {
    watcher->End(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is stopping"));
  } else if (absl::Status valid = CheckWatchRequest(watcher->request());
             !valid.ok()) {
    watcher->End(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, StatusMessage(valid)));
  }
}

void WatchHub::Stop() {
  MutexLock lock(&mu_);
  stopped_ = true;
  for (Watcher* watcher : watchers_) watcher->End(grpc::Status::OK);
}

size_t WatchHub::watchers() const {
  MutexLock lock(&mu_);
  return watchers_.size();
}

void WatchHub::Remove(Watcher* watcher) {
  {
    MutexLock lock(&mu_);
    if (watchers_.erase(watcher) == 0) return;
  }
  metrics_->OnWatcherClosed();
}

}  // namespace herd
