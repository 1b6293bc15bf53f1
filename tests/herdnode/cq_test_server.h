// A gRPC server on a free loopback port serving calls made by ServerCalls
// factories (cq_reactor.h), polled by a GrpcPollers thread of its own, for
// tests of one service method over real sockets.
#ifndef HERD_TESTS_HERDNODE_CQ_TEST_SERVER_H_
#define HERD_TESTS_HERDNODE_CQ_TEST_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/cq_reactor.h"
#include "common/grpc_pollers.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"

namespace herd {

class CqTestServer {
 public:
  // Something that requests its own calls (like HealthService::Serve).
  using Serve = std::function<void(const GrpcPollers&, ServerCalls&)>;

  // service must outlive this; factories make its calls, and serve (if
  // set) requests more.
  CqTestServer(grpc::Service& service,
               std::vector<ServerCalls::Factory> factories,
               const Serve& serve = nullptr) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    pollers_ = std::make_unique<GrpcPollers>(1, &builder);
    builder.RegisterService(&service);
    server_ = builder.BuildAndStart();
    for (ServerCalls::Factory& factory : factories) {
      calls_.Serve(*pollers_, std::move(factory));
    }
    if (serve) serve(*pollers_, calls_);
    pollers_->Start();
  }
  ~CqTestServer() { Stop(); }

  CqTestServer(const CqTestServer&) = delete;
  CqTestServer& operator=(const CqTestServer&) = delete;

  bool ok() const { return server_ != nullptr && port_ != 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Shuts the server down (calls still open are cancelled after grace) and
  // returns once every call is over. Idempotent.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(100)) {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + grace);
      calls_.AwaitNone();
      server_.reset();
    }
    pollers_->Stop();
  }

 private:
  int port_ = 0;
  std::unique_ptr<GrpcPollers> pollers_;
  ServerCalls calls_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace herd

#endif  // HERD_TESTS_HERDNODE_CQ_TEST_SERVER_H_
