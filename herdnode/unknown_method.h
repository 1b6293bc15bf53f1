// Calls of methods no service of the server has: answered UNIMPLEMENTED on
// our queues. gRPC would answer them on the server's own queues, and a
// server that shares another's queues (GrpcPollers::BuildSharing) has one
// nobody polls.
#ifndef HERD_HERDNODE_UNKNOWN_METHOD_H_
#define HERD_HERDNODE_UNKNOWN_METHOD_H_

#include "common/cq_reactor.h"
#include "grpcpp/generic/async_generic_service.h"

namespace herd {

class UnknownMethods {
 public:
  UnknownMethods() = default;
  UnknownMethods(const UnknownMethods&) = delete;
  UnknownMethods& operator=(const UnknownMethods&) = delete;

  // For ServerBuilder::RegisterAsyncGenericService.
  grpc::AsyncGenericService* service() { return &service_; }
  // Requests such calls on the pollers' queues; each counts in calls.
  void Serve(const GrpcPollers& pollers, ServerCalls& calls);

 private:
  class Call;
  grpc::AsyncGenericService service_;
};

}  // namespace herd

#endif  // HERD_HERDNODE_UNKNOWN_METHOD_H_
