// gRPC server reflection (grpc.reflection.v1alpha, what grpcurl and gRPC's
// reflection clients use) on completion queues (cq_reactor.h), over the
// descriptors compiled into the program (protobuf's generated pool). gRPC's
// own reflection plugin is a sync service, whose server threads would poll
// beside ours (grpc_pollers.h).
#ifndef HERD_HERDNODE_OPS_REFLECTION_SERVICE_H_
#define HERD_HERDNODE_OPS_REFLECTION_SERVICE_H_

#include <string>
#include <vector>

#include "common/cq_reactor.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace herd {

// The answer to one request (no gRPC in it, so it is tested alone):
// services are the full names list_services reports.
grpc::reflection::v1alpha::ServerReflectionResponse AnswerReflection(
    const grpc::reflection::v1alpha::ServerReflectionRequest& request,
    const std::vector<std::string>& services);

class ReflectionService {
 public:
  // services: the full names of the services the server serves.
  explicit ReflectionService(std::vector<std::string> services)
      : services_(std::move(services)) {}
  ReflectionService(const ReflectionService&) = delete;
  ReflectionService& operator=(const ReflectionService&) = delete;

  // For ServerBuilder::RegisterService.
  grpc::Service* service() { return &service_; }
  // Requests ServerReflectionInfo calls on the pollers' queues; every call
  // counts in calls.
  void Serve(const GrpcPollers& pollers, ServerCalls& calls);

 private:
  class Stream;
  grpc::reflection::v1alpha::ServerReflection::AsyncService service_;
  const std::vector<std::string> services_;
};

}  // namespace herd

#endif  // HERD_HERDNODE_OPS_REFLECTION_SERVICE_H_
