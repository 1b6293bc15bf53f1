#include "herdnode/unknown_method.h"

#include <memory>

namespace herd {

class UnknownMethods::Call final : public ServerCallBase {
 public:
  explicit Call(grpc::AsyncGenericService& service)
      : ServerCallBase(/*notify_when_done=*/false), service_(service) {}

 private:
  void RequestCall(grpc::ServerCompletionQueue* queue,
                   CompletionTag* tag) override {
    service_.RequestCall(&generic_context_, &stream_, queue, queue, tag);
  }
  void Begin() override {
    Ref();
    handoff_.Release();
    // What gRPC itself answers for a method it does not know.
    stream_.Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""),
                   HandToGrpc(&finish_tag_));
    Unref();  // finished
  }
  void Finished(bool /*ok*/) {
    handoff_.Acquire();
    Unref();
  }

  grpc::AsyncGenericService& service_;
  grpc::GenericServerContext generic_context_;
  grpc::GenericServerAsyncReaderWriter stream_{&generic_context_};
  MemberTag<Call> finish_tag_{this, &Call::Finished};
};

void UnknownMethods::Serve(const GrpcPollers& pollers, ServerCalls& calls) {
  calls.Serve(pollers, [this]() -> std::unique_ptr<ServerCallBase> {
    return std::make_unique<Call>(service_);
  });
}

}  // namespace herd
