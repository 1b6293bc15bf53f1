// PeerLink against a scripted fake peer: catch-up paging and the bounded,
// coalescing live queue.
#include "herdnode/mesh/peer_link.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/grpc_handoff.h"
#include "common/mutex.h"
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

// A peer whose Sync serves a fixed list of entries in pages, and whose
// PropagateLocations can be told to stop reading until released.
class FakePeer final : public v1::HerdNode::CallbackService {
 public:
  explicit FakePeer(std::vector<v1::SyncEntry> entries)
      : entries_(std::move(entries)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(this);
    handoff_.Release();
    server_ = builder.BuildAndStart();
  }
  ~FakePeer() override {
    Release();
    // A link's stream stays open until the link goes: cancel it soon.
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(100));
    // Every handler and reaction has returned.
    handoff_.Acquire();
    MutexLock lock(&mu_);
    for (const auto& reader : readers_) reader->handoff_.Acquire();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  grpc::ServerUnaryReactor* Sync(grpc::CallbackServerContext* context,
                                 const v1::SyncRequest* request,
                                 v1::SyncResponse* response) override {
    GrpcReaction handler(handoff_);
    MutexLock lock(&mu_);
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

  // Records every update of every batch; Hold() stops reading, so batches
  // pile up at the sender.
  grpc::ServerBidiReactor<v1::PropagateLocationsRequest,
                          v1::PropagateLocationsResponse>*
  PropagateLocations(grpc::CallbackServerContext* /*context*/) override {
    GrpcReaction handler(handoff_);
    auto reactor = std::make_unique<StreamReader>(*this);
    StreamReader* raw = reactor.get();
    {
      MutexLock lock(&mu_);
      readers_.push_back(std::move(reactor));
    }
    raw->Next();
    return raw;
  }

  void Hold() {
    MutexLock lock(&mu_);
    hold_ = true;
  }
  void Release() {
    std::vector<StreamReader*> held;
    {
      MutexLock lock(&mu_);
      hold_ = false;
      held.swap(held_);
    }
    for (StreamReader* reader : held) reader->Next();
  }
  size_t batches() const {
    MutexLock lock(&mu_);
    return batches_;
  }
  std::vector<std::string> received() const {
    MutexLock lock(&mu_);
    return received_;
  }
  std::vector<v1::SyncRequest> sync_requests() const {
    MutexLock lock(&mu_);
    return sync_requests_;
  }

 private:
  const std::vector<v1::SyncEntry> entries_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  class StreamReader final
      : public grpc::ServerBidiReactor<v1::PropagateLocationsRequest,
                                       v1::PropagateLocationsResponse> {
   public:
    explicit StreamReader(FakePeer& peer) : peer_(peer) {}
    void Next() {
      handoff_.Release();
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      GrpcReaction reaction(handoff_);
      if (!ok) {
        handoff_.Release();
        Finish(grpc::Status::OK);
        return;
      }
      MutexLock lock(&peer_.mu_);
      ++peer_.batches_;
      for (const v1::Location& location : request_.locations()) {
        peer_.received_.push_back(location.client_id() + "@" +
                                  location.client_time_text());
      }
      if (peer_.hold_) {
        peer_.held_.push_back(this);
      } else {
        handoff_.Release();
        StartRead(&request_);
      }
    }
    // Owned by the peer, which outlives its server.
    void OnDone() override { GrpcReaction reaction(handoff_); }

    GrpcHandoff handoff_;

   private:
    FakePeer& peer_;
    v1::PropagateLocationsRequest request_;
  };

  GrpcHandoff handoff_;
  mutable Mutex mu_;
  bool hold_ = false;
  size_t batches_ = 0;
  std::vector<std::unique_ptr<StreamReader>> readers_;
  std::vector<StreamReader*> held_;
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
  std::unique_ptr<PeerLink> MakeLink(const FakePeer& peer, size_t max_batch) {
    PeerLinkOptions options;
    options.self_name = "Self";
    options.peer_name = "Fake";
    options.peer_address = peer.address();
    options.sync_page_entries = 2;
    options.max_batch = max_batch;
    return std::make_unique<PeerLink>(
        std::move(options), flooder_,
        std::make_shared<spdlog::logger>(
            "test", std::make_shared<spdlog::sinks::null_sink_mt>()),
        pollers_);
  }

  PeerLinkTest() { pollers_.Start(); }
  // A link the flooder holds must go before the pollers its calls use.
  ~PeerLinkTest() override { flooder_.SetPeers({}); }

  LocationStore store_;
  Flooder flooder_{store_};
  // Polls the links' calls; outlives them.
  GrpcPollers pollers_{1, nullptr};
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

TEST_F(PeerLinkTest, BatchesDeliverEveryUpdateInOrder) {
  FakePeer peer({});
  std::unique_ptr<PeerLink> link = MakeLink(peer, 16);
  link->Start();
  ASSERT_TRUE(PollUntil(absl::Seconds(20),
                        [&] { return link->state() == LinkState::kUp; }));
  // While the peer does not read, updates pile up at the link.
  peer.Hold();
  std::vector<std::string> sent;
  for (int i = 0; i < 1000; ++i) {
    const std::string client = "c" + std::to_string(i % 7);
    const std::string time = std::to_string(i + 1);
    link->Send(MakeLocation(client, time));
    link->Flush();  // as the Flooder does for an update flooded alone
    sent.push_back(client + "@" + time);
  }
  peer.Release();
  ASSERT_TRUE(PollUntil(absl::Seconds(20),
                        [&] { return peer.received().size() == sent.size(); }));
  EXPECT_EQ(peer.received(), sent);
  EXPECT_EQ(link->Status().updates_sent(), sent.size());
  EXPECT_EQ(link->state(), LinkState::kUp);
}

TEST_F(PeerLinkTest, UpdatesFloodedTogetherLeaveInOneMessage) {
  FakePeer peer({});
  std::shared_ptr<PeerLink> link = MakeLink(peer, 16);
  flooder_.SetPeers({link});
  link->Start();
  ASSERT_TRUE(PollUntil(absl::Seconds(20),
                        [&] { return link->state() == LinkState::kUp; }));
  const size_t batches_before = peer.batches();
  {
    Flooder::Batch batch(flooder_);
    for (int i = 0; i < 5; ++i) {
      batch.Flood(MakeLocation("b" + std::to_string(i), "1"), "Other");
    }
    // Held until the batch ends, however long that takes.
    EXPECT_EQ(link->Status().updates_sent(), 0u);
  }
  // The link counts a message once its write is done, which may be after
  // the peer has read it.
  ASSERT_TRUE(PollUntil(absl::Seconds(20), [&] {
    return peer.received().size() == 5u && link->Status().updates_sent() == 5u;
  }));
  EXPECT_EQ(peer.batches() - batches_before, 1u);
  EXPECT_EQ(link->Status().batches_sent(), 1u);

  // One flooded alone goes at once, alone.
  flooder_.Flood(MakeLocation("alone", "1"), "Other");
  ASSERT_TRUE(PollUntil(absl::Seconds(20), [&] {
    return peer.received().size() == 6u && link->Status().updates_sent() == 6u;
  }));
  EXPECT_EQ(link->Status().batches_sent(), 2u);
  link->Stop();
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

  peer.reset();  // the peer goes away: its stream breaks
  // Noticed by the stream's pending read: nothing needs to be sent.
  EXPECT_TRUE(PollUntil(absl::Seconds(20),
                        [&] { return link->state() != LinkState::kUp; }));
  link->Send(MakeLocation("x", "2"));
  EXPECT_NE(link->state(), LinkState::kUp);
}

}  // namespace
}  // namespace herd
