// PeerLink against a scripted fake peer: catch-up paging and the bounded,
// coalescing live queue.
#include "herdnode/peer_link.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/null_sink.h"
#include "test_herd.h"
#include "test_location.h"

namespace herd {
namespace {

using ::herd::testing::MakeLocation;
using ::herd::testing::PollUntil;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

// A peer whose Sync serves a fixed list of entries in pages, and whose
// PropagateLocation can be told to hold calls until released.
class FakePeer final : public v1::HerdNode::CallbackService {
 public:
  explicit FakePeer(std::vector<v1::SyncEntry> entries)
      : entries_(std::move(entries)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakePeer() override {
    Release();
    server_->Shutdown();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  grpc::ServerUnaryReactor* Sync(grpc::CallbackServerContext* context,
                                 const v1::SyncRequest* request,
                                 v1::SyncResponse* response) override {
    absl::MutexLock lock(&mu_);
    sync_requests_.push_back(*request);
    response->set_epoch("fake-epoch");
    for (const v1::SyncEntry& entry : entries_) {
      if (entry.seq() <= request->after_seq()) continue;
      if (response->entries_size() ==
          static_cast<int>(request->max_entries())) {
        response->set_more(true);
        break;
      }
      *response->add_entries() = entry;
    }
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* PropagateLocation(
      grpc::CallbackServerContext* context,
      const v1::PropagateLocationRequest* request,
      v1::PropagateLocationResponse* response) override {
    response->set_outcome(v1::UPDATE_OUTCOME_ACCEPTED);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    absl::MutexLock lock(&mu_);
    received_.push_back(request->location().client_id() + "@" +
                        request->location().client_time_text());
    if (hold_) {
      held_.push_back(reactor);
    } else {
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }

  void Hold() {
    absl::MutexLock lock(&mu_);
    hold_ = true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    hold_ = false;
    for (grpc::ServerUnaryReactor* reactor : held_) {
      reactor->Finish(grpc::Status::OK);
    }
    held_.clear();
  }
  std::vector<std::string> received() const {
    absl::MutexLock lock(&mu_);
    return received_;
  }
  std::vector<v1::SyncRequest> sync_requests() const {
    absl::MutexLock lock(&mu_);
    return sync_requests_;
  }

 private:
  const std::vector<v1::SyncEntry> entries_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  mutable absl::Mutex mu_;
  bool hold_ = false;
  std::vector<grpc::ServerUnaryReactor*> held_;
  std::vector<std::string> received_;
  std::vector<v1::SyncRequest> sync_requests_;
};

v1::SyncEntry Entry(uint64_t seq, const std::string& client,
                    const std::string& time) {
  v1::SyncEntry entry;
  entry.set_seq(seq);
  *entry.mutable_location() = MakeLocation(client, time);
  return entry;
}

class PeerLinkTest : public ::testing::Test {
 protected:
  std::unique_ptr<PeerLink> MakeLink(const FakePeer& peer,
                                     size_t max_in_flight) {
    PeerLinkOptions options;
    options.self_name = "Self";
    options.peer_name = "Fake";
    options.peer_address = peer.address();
    options.sync_page_entries = 2;
    options.max_in_flight = max_in_flight;
    return std::make_unique<PeerLink>(
        std::move(options), flooder_,
        std::make_shared<spdlog::logger>(
            "test", std::make_shared<spdlog::sinks::null_sink_mt>()));
  }

  LocationStore store_;
  Flooder flooder_{store_};
};

TEST_F(PeerLinkTest, CatchUpPullsEveryPageThenGoesUp) {
  FakePeer peer({Entry(3, "a", "1"), Entry(7, "b", "1"), Entry(9, "c", "1")});
  std::unique_ptr<PeerLink> link = MakeLink(peer, 8);
  link->Start();
  ASSERT_TRUE(PollUntil(absl::Seconds(20),
                        [&] { return link->state() == LinkState::kUp; }));
  EXPECT_EQ(store_.size(), 3u);
  EXPECT_EQ(link->Status().sync_entries_received(), 3u);

  const std::vector<v1::SyncRequest> requests = peer.sync_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].from_server(), "Self");
  EXPECT_EQ(requests[0].responder_epoch(), "");
  EXPECT_EQ(requests[0].after_seq(), 0u);
  EXPECT_TRUE(requests[0].sync_back());
  EXPECT_EQ(requests[1].responder_epoch(), "fake-epoch");
  EXPECT_EQ(requests[1].after_seq(), 7u);
  EXPECT_FALSE(requests[1].sync_back());

  // A catch-up the peer asks for while the link is up resumes where the last
  // one ended and does not ask back.
  link->RequestCatchUp();
  ASSERT_TRUE(PollUntil(absl::Seconds(20),
                        [&] { return peer.sync_requests().size() == 3u; }));
  const v1::SyncRequest third = peer.sync_requests()[2];
  EXPECT_EQ(third.after_seq(), 9u);
  EXPECT_FALSE(third.sync_back());
}

TEST_F(PeerLinkTest, FullQueueKeepsOnlyTheNewestPerClient) {
  FakePeer peer({});
  std::unique_ptr<PeerLink> link = MakeLink(peer, 1);
  link->Start();
  ASSERT_TRUE(PollUntil(absl::Seconds(20),
                        [&] { return link->state() == LinkState::kUp; }));
  peer.Hold();
  link->Send(MakeLocation("x", "1"));  // takes the only call slot
  ASSERT_TRUE(PollUntil(absl::Seconds(10),
                        [&] { return peer.received().size() == 1u; }));
  link->Send(MakeLocation("x", "2"));
  link->Send(MakeLocation("x", "3"));
  link->Send(MakeLocation("y", "1"));
  link->Send(MakeLocation("x", "2.5"));  // older than the pending x@3
  peer.Release();
  ASSERT_TRUE(PollUntil(absl::Seconds(10),
                        [&] { return link->Status().updates_sent() == 3u; }));
  link->Stop();
  const std::vector<std::string> received = peer.received();
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[0], "x@1");
  EXPECT_THAT(std::vector<std::string>(received.begin() + 1, received.end()),
              UnorderedElementsAre("x@3", "y@1"));
  EXPECT_EQ(link->state(), LinkState::kUp);
}

TEST_F(PeerLinkTest, SendIsDroppedWhileDownAndFailureTakesLinkDown) {
  auto peer = std::make_unique<FakePeer>(std::vector<v1::SyncEntry>{});
  std::unique_ptr<PeerLink> link = MakeLink(*peer, 8);
  // Not started: the link is DOWN and nothing is sent.
  link->Send(MakeLocation("x", "1"));
  EXPECT_EQ(link->Status().state(), "DOWN");
  link->Start();
  ASSERT_TRUE(PollUntil(absl::Seconds(20),
                        [&] { return link->state() == LinkState::kUp; }));
  EXPECT_THAT(peer->received(), ElementsAre());

  peer.reset();  // the peer goes away
  link->Send(MakeLocation("x", "2"));
  EXPECT_TRUE(PollUntil(absl::Seconds(20),
                        [&] { return link->state() != LinkState::kUp; }));
}

}  // namespace
}  // namespace herd
