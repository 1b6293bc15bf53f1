#include "herdnode/ops/health_service.h"

#include <chrono>
#include <memory>

#include "cq_test_server.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace herd {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// The health service on a server of its own (CqTestServer polls it).
class HealthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<CqTestServer>(
        *health_.service(), std::vector<ServerCalls::Factory>{},
        [this](const GrpcPollers& pollers, ServerCalls& calls) {
          health_.Serve(pollers, calls);
        });
    ASSERT_TRUE(server_->ok());
    stub_ = Health::NewStub(grpc::CreateChannel(
        server_->address(), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    health_.Stop();
    server_->Stop(std::chrono::seconds(10));
  }

  static void Deadline(grpc::ClientContext& context) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
  }

  HealthService health_;
  std::unique_ptr<CqTestServer> server_;
  std::unique_ptr<Health::Stub> stub_;
};

TEST_F(HealthServiceTest, CheckSaysServingThenNotServing) {
  HealthCheckResponse response;
  {
    grpc::ClientContext context;
    Deadline(context);
    ASSERT_TRUE(stub_->Check(&context, HealthCheckRequest(), &response).ok());
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  }
  health_.SetServing(false);
  grpc::ClientContext context;
  Deadline(context);
  ASSERT_TRUE(stub_->Check(&context, HealthCheckRequest(), &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
}

TEST_F(HealthServiceTest, CheckOfAnUnknownServiceIsNotFound) {
  HealthCheckRequest request;
  request.set_service("no.such.Service");
  HealthCheckResponse response;
  grpc::ClientContext context;
  Deadline(context);
  EXPECT_EQ(stub_->Check(&context, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(HealthServiceTest, WatchSendsEveryChangeUntilStopped) {
  grpc::ClientContext context;
  Deadline(context);
  auto reader = stub_->Watch(&context, HealthCheckRequest());
  HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  health_.SetServing(false);
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  health_.Stop();  // ends the stream OK
  EXPECT_FALSE(reader->Read(&response));
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(HealthServiceTest, WatchOfAnUnknownServiceSaysSo) {
  HealthCheckRequest request;
  request.set_service("no.such.Service");
  grpc::ClientContext context;
  Deadline(context);
  auto reader = stub_->Watch(&context, request);
  HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  context.TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

}  // namespace
}  // namespace herd
