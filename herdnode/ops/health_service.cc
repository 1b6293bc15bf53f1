#include "herdnode/ops/health_service.h"

#include <optional>
#include <string>

namespace herd {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch stream: the latest status is written, one write at a time (a
// change during a write is written after it; only the newest matters).
class HealthService::Watcher final
    : public ServerWriteCall<HealthCheckRequest, HealthCheckResponse> {
 public:
  explicit Watcher(HealthService& health) : health_(health) {}

  // The status of the watched service changed (or is first known).
  void Update(Status status) {
    bool write = false;
    {
      MutexLock lock(&mu_);
      if (finishing_) return;
      latest_ = status;
      write = TakeLocked();
    }
    if (write) StartWrite(&current_);
  }
  void End() {
    bool finish = false;
    {
      MutexLock lock(&mu_);
      if (finishing_) return;
      finishing_ = true;
      finish = !writing_;
    }
    if (finish) Finish(grpc::Status::OK);
  }

 private:
  void RequestCall(grpc::ServerCompletionQueue* queue,
                   CompletionTag* tag) override {
    health_.service_.RequestWatch(&context(), mutable_request(), stream(),
                                  queue, queue, tag);
  }
  void Begin() override {
    std::optional<Status> now;
    {
      MutexLock lock(&health_.mu_);
      if (!health_.stopped_) {
        health_.watchers_.insert(this);
        now = health_.StatusOf(request().service());
      }
    }
    if (now.has_value()) {
      Update(*now);
    } else {
      End();
    }
  }
  void OnWriteDone(bool ok) override {
    bool write = false;
    bool finish = false;
    {
      MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) finishing_ = true;  // the watcher went away
      if (!finishing_) write = TakeLocked();
      finish = finishing_ && !writing_;
    }
    if (write) StartWrite(&current_);
    if (finish) Finish(grpc::Status::OK);
  }
  void OnCancel() override { End(); }
  void OnDone() override {
    MutexLock lock(&health_.mu_);
    health_.watchers_.erase(this);
  }

  // Moves a status not yet written into current_ if no write is in flight.
  bool TakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || !latest_.has_value()) return false;
    if (written_.has_value() && *written_ == *latest_) return false;
    current_.set_status(*latest_);
    written_ = latest_;
    writing_ = true;
    return true;
  }

  HealthService& health_;
  Mutex mu_;
  std::optional<Status> latest_ ABSL_GUARDED_BY(mu_);
  std::optional<Status> written_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  HealthCheckResponse current_;  // untouched while writing_
};

void HealthService::Serve(const GrpcPollers& pollers, ServerCalls& calls) {
  using Check = FunctionUnaryCall<grpc::health::v1::Health::AsyncService,
                                  HealthCheckRequest, HealthCheckResponse>;
  calls.Serve(
      pollers,
      Check::Factory(service_,
                     &grpc::health::v1::Health::AsyncService::RequestCheck,
                     [this](Check& call) {
                       Status status;
                       {
                         MutexLock lock(&mu_);
                         status = StatusOf(call.request().service());
                       }
                       if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
                         call.Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                                  "service name unknown"));
                         return;
                       }
                       call.response()->set_status(status);
                       call.Finish(grpc::Status::OK);
                     }));
  calls.Serve(pollers, [this]() -> std::unique_ptr<ServerCallBase> {
    return std::make_unique<Watcher>(*this);
  });
}

HealthService::Status HealthService::StatusOf(
    const std::string& service) const {
  if (!service.empty()) return HealthCheckResponse::SERVICE_UNKNOWN;
  return serving_ ? HealthCheckResponse::SERVING
                  : HealthCheckResponse::NOT_SERVING;
}

void HealthService::SetServing(bool serving) {
  MutexLock lock(&mu_);
  serving_ = serving;
  for (Watcher* watcher : watchers_) {
    watcher->Update(StatusOf(watcher->request().service()));
  }
}

void HealthService::Stop() {
  MutexLock lock(&mu_);
  stopped_ = true;
  for (Watcher* watcher : watchers_) watcher->End();
}

}  // namespace herd
