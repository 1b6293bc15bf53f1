#include "herdnode/local_caller.h"

#include <utility>

#include "grpcpp/support/interceptor.h"

namespace herd {
namespace {

constexpr char kTokenHeader[] = "x-herd-local-caller";

class StampInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit StampInterceptor(const std::string& token) : token_(token) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(kTokenHeader, token_);
    }
    methods->Proceed();
  }

 private:
  const std::string& token_;  // owned by the factory, which outlives calls
};

class StampFactory
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit StampFactory(std::string token) : token_(std::move(token)) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    // gRPC takes ownership of the interceptor and deletes it after the call.
    return std::make_unique<StampInterceptor>(token_).release();
  }

 private:
  const std::string token_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>
MakeLocalCallerStamp(std::string token) {
  return std::make_unique<StampFactory>(std::move(token));
}

bool IsLocalCaller(const grpc::ServerContextBase& context,
                   std::string_view token) {
  const auto& metadata = context.client_metadata();
  auto [begin, end] = metadata.equal_range(kTokenHeader);
  for (auto it = begin; it != end; ++it) {
    if (std::string_view(it->second.data(), it->second.size()) == token) {
      return true;
    }
  }
  return false;
}

}  // namespace herd
