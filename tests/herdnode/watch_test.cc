// Watch: the circle filter, the bounded queue's drop-and-tell, and real
// streams over loopback gRPC with a reader that does not read.
#include "herdnode/ops/watch.h"

#include <memory>
#include <string>
#include <vector>

#include "cq_test_server.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "herd/v1/herd.grpc.pb.h"
#include "spdlog/sinks/null_sink.h"

namespace herd {
namespace {

v1::Location At(const std::string& client, double latitude, double longitude) {
  v1::Location location;
  location.set_client_id(client);
  location.set_latitude(latitude);
  location.set_longitude(longitude);
  return location;
}

v1::WatchRequest Within(double latitude, double longitude, double km) {
  v1::WatchRequest request;
  request.mutable_within()->set_latitude(latitude);
  request.mutable_within()->set_longitude(longitude);
  request.mutable_within()->set_radius_km(km);
  return request;
}

TEST(WatchFilterTest, CircleKeepsNearAndDropsFar) {
  const v1::WatchRequest ucla = Within(34.0689, -118.4451, 50);
  EXPECT_TRUE(WatchMatches(ucla, At("near", 34.05, -118.25)));  // ~18 km
  EXPECT_FALSE(WatchMatches(ucla, At("far", 40.71, -74.0)));    // New York
  EXPECT_TRUE(WatchMatches(v1::WatchRequest(), At("any", -89, 179)));
}

TEST(WatchFilterTest, BadCirclesAreRefusedByName) {
  EXPECT_TRUE(CheckWatchRequest(v1::WatchRequest()).ok());
  EXPECT_TRUE(CheckWatchRequest(Within(1, 2, 3)).ok());
  EXPECT_THAT(std::string(CheckWatchRequest(Within(91, 0, 1)).message()),
              ::testing::HasSubstr("within.latitude"));
  EXPECT_THAT(std::string(CheckWatchRequest(Within(0, -181, 1)).message()),
              ::testing::HasSubstr("within.longitude"));
  EXPECT_THAT(std::string(CheckWatchRequest(Within(0, 0, 0)).message()),
              ::testing::HasSubstr("within.radius_km"));
  EXPECT_FALSE(CheckWatchRequest(Within(0, 0, std::nan(""))).ok());
}

TEST(WatchQueueTest, OverflowIsDroppedAndToldInPlace) {
  WatchQueue queue(2);
  EXPECT_EQ(queue.Push(At("a", 0, 0)), 0u);
  EXPECT_EQ(queue.Push(At("b", 0, 0)), 0u);
  EXPECT_EQ(queue.Push(At("c", 0, 0)), 1u);
  EXPECT_EQ(queue.Push(At("d", 0, 0)), 1u);
  EXPECT_EQ(queue.Pop()->location().client_id(), "a");
  // Room again: the next change goes after the gap's marker.
  EXPECT_EQ(queue.Push(At("e", 0, 0)), 0u);
  EXPECT_EQ(queue.Pop()->location().client_id(), "b");
  EXPECT_EQ(queue.Pop()->dropped(), 2u);
  EXPECT_EQ(queue.Pop()->location().client_id(), "e");
  EXPECT_FALSE(queue.Pop().has_value());
  EXPECT_TRUE(queue.empty());
}

class WatchStreamTest : public ::testing::Test {
 protected:
  void StartServer(size_t max_queued) {
    hub_ = std::make_unique<WatchHub>(metrics_, max_queued);
    server_ = std::make_unique<CqTestServer>(
        service_,
        std::vector<ServerCalls::Factory>{hub_->Calls(
            service_,
            std::make_shared<spdlog::logger>(
                "test", std::make_shared<spdlog::sinks::null_sink_mt>()))});
    ASSERT_TRUE(server_->ok());
    stub_ = v1::HerdNode::NewStub(grpc::CreateChannel(
        server_->address(), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (hub_ != nullptr) hub_->Stop();
    if (server_ != nullptr) server_->Stop(std::chrono::seconds(10));
  }
  // Waits (bounded) until the hub has n watchers.
  void AwaitWatchers(size_t n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (hub_->watchers() != n && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_EQ(hub_->watchers(), n);
  }

  std::shared_ptr<NodeMetrics> metrics_ = std::make_shared<NodeMetrics>();
  std::unique_ptr<WatchHub> hub_;
  v1::HerdNode::AsyncService service_;
  std::unique_ptr<CqTestServer> server_;
  std::unique_ptr<v1::HerdNode::Stub> stub_;
};

TEST_F(WatchStreamTest, CircleFilterOverARealStream) {
  StartServer(1024);
  grpc::ClientContext context;
  auto reader = stub_->Watch(&context, Within(34.0689, -118.4451, 20));
  AwaitWatchers(1);
  hub_->Send(At("far", 40.71, -74.0));
  hub_->Send(At("near", 34.05, -118.25));
  v1::WatchEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.location().client_id(), "near");
  hub_->Stop();  // ends the stream OK
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(WatchStreamTest, BadCircleIsInvalidArgument) {
  StartServer(1024);
  grpc::ClientContext context;
  auto reader = stub_->Watch(&context, Within(0, 0, -1));
  v1::WatchEvent event;
  EXPECT_FALSE(reader->Read(&event));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("radius_km"));
}

TEST_F(WatchStreamTest, SlowReaderMissesChangesAndIsToldHowMany) {
  constexpr int kChanges = 5000;
  StartServer(16);
  grpc::ClientContext context;
  // Bounds the reads below if events went missing.
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  auto slow = stub_->Watch(&context, v1::WatchRequest());
  AwaitWatchers(1);
  // The watcher reads nothing meanwhile; every Send returns anyway.
  for (int i = 0; i < kChanges; ++i) {
    hub_->Send(At("client-" + std::to_string(i), 0, 0));
  }
  uint64_t locations = 0;
  uint64_t dropped = 0;
  int last = -1;
  v1::WatchEvent event;
  while (locations + dropped < kChanges && slow->Read(&event)) {
    if (event.has_location()) {
      const int index = std::stoi(event.location().client_id().substr(7));
      EXPECT_GT(index, last) << "changes arrive in order";
      last = index;
      ++locations;
    } else {
      EXPECT_GT(event.dropped(), 0u);
      dropped += event.dropped();
    }
  }
  hub_->Stop();
  EXPECT_FALSE(slow->Read(&event));
  EXPECT_TRUE(slow->Finish().ok());
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(locations + dropped, static_cast<uint64_t>(kChanges));
  EXPECT_THAT(metrics_->Exposition(),
              ::testing::HasSubstr("herd_watch_events_dropped_total " +
                                   std::to_string(dropped) + "\n"));
}

}  // namespace
}  // namespace herd
