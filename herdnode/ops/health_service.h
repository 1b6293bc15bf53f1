// grpc.health.v1.Health on completion queues (cq_reactor.h), in the place of
// gRPC's default health service, which in 1.51 runs on the callback API and
// so brings its threads back (grpc_pollers.h). Like the default one: the
// server as a whole ("") is the one service known, SERVING until
// SetServing(false); Check of any other name is NOT_FOUND; Watch sends the
// status now and on every change (SERVICE_UNKNOWN for other names) until
// the call ends or Stop().
#ifndef HERD_HERDNODE_OPS_HEALTH_SERVICE_H_
#define HERD_HERDNODE_OPS_HEALTH_SERVICE_H_

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "common/cq_reactor.h"
#include "common/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace herd {

class HealthService {
 public:
  HealthService() = default;
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  // For ServerBuilder::RegisterService.
  grpc::Service* service() { return &service_; }
  // Requests Check and Watch calls on the pollers' queues (see
  // NodeService::Serve); every call counts in calls.
  void Serve(const GrpcPollers& pollers, ServerCalls& calls);

  void SetServing(bool serving);
  // Ends every Watch stream (OK) and those opened from now on.
  void Stop();

 private:
  class Watcher;
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;
  Status StatusOf(const std::string& service) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::health::v1::Health::AsyncService service_;
  mutable Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = true;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd

#endif  // HERD_HERDNODE_OPS_HEALTH_SERVICE_H_
