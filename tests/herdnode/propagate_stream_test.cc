// The receiving end of a PropagateLocations stream over a real loopback
// connection, with a journal the test controls: a receiver whose journal is
// behind stops reading (so the sender, not this node, holds what waits) and
// reads on once the journal has caught up; nothing is lost.
#include "herdnode/mesh/propagate_stream.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/grpc_pollers.h"
#include "common/mutex.h"
#include "cq_test_server.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
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

// Appends stay "on their way to the disk" until Drain().
class HeldJournal final : public UpdateJournal {
 public:
  void Append(const v1::Location& /*location*/, DurableDone done) override {
    MutexLock lock(&mu_);
    ++backlog_;
    if (done) waiting_.push_back(std::move(done));
  }
  void AfterDurable(DurableDone done) override {
    MutexLock lock(&mu_);
    waiting_.push_back(std::move(done));
  }
  size_t Backlog() const override {
    MutexLock lock(&mu_);
    return backlog_;
  }
  size_t waiting() const {
    MutexLock lock(&mu_);
    return waiting_.size();
  }
  // Everything appended so far is durable: its callbacks run.
  void Drain() {
    std::vector<DurableDone> done;
    {
      MutexLock lock(&mu_);
      backlog_ = 0;
      done.swap(waiting_);
    }
    for (DurableDone& callback : done) callback(absl::OkStatus());
  }

 private:
  mutable Mutex mu_;
  size_t backlog_ = 0;
  std::vector<DurableDone> waiting_;
};

// A node that serves only PropagateLocations, from the one peer "Peer".
class StreamOnlyNode {
 public:
  StreamOnlyNode(Flooder& flooder, std::shared_ptr<PeerLink> peer_link)
      : server_(service_,
                {PropagateStreamCalls(
                    service_,
                    [peer_link = std::move(peer_link)](
                        const grpc::ServerContext& /*context*/,
                        const std::string& from)
                        -> absl::StatusOr<std::shared_ptr<PeerLink>> {
                      if (from != "Peer") {
                        return absl::PermissionDeniedError(from);
                      }
                      return peer_link;
                    },
                    flooder,
                    std::make_shared<spdlog::logger>(
                        "test",
                        std::make_shared<spdlog::sinks::null_sink_mt>()))}) {}
  std::string address() const { return server_.address(); }

  // A PropagateLocations stream to this node, with a 30 s deadline on
  // context (which must outlive it).
  std::unique_ptr<grpc::ClientReaderWriter<v1::PropagateLocationsRequest,
                                           v1::PropagateLocationsResponse>>
  OpenStream(grpc::ClientContext& context) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    return stub_->PropagateLocations(&context);
  }

 private:
  v1::HerdNode::AsyncService service_;
  CqTestServer server_;
  std::unique_ptr<v1::HerdNode::Stub> stub_ = v1::HerdNode::NewStub(
      grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
};

v1::PropagateLocationsRequest Batch(const std::vector<std::string>& clients) {
  v1::PropagateLocationsRequest batch;
  batch.set_from_server("Peer");
  for (const std::string& client : clients) {
    *batch.add_locations() = MakeLocation(client, "1");
  }
  return batch;
}

// The link a stream from "Peer" counts on: never started, it only counts.
std::shared_ptr<PeerLink> CountingLink(Flooder& flooder, GrpcPollers& pollers) {
  PeerLinkOptions link_options;
  link_options.self_name = "Self";
  link_options.peer_name = "Peer";
  link_options.peer_address = "127.0.0.1:1";
  return std::make_shared<PeerLink>(
      std::move(link_options), flooder,
      std::make_shared<spdlog::logger>(
          "test", std::make_shared<spdlog::sinks::null_sink_mt>()),
      pollers);
}

TEST(PropagateStreamTest, StopsReadingWhileTheJournalIsBehind) {
  LocationStore store;
  HeldJournal journal;
  Flooder flooder(store, /*max_journal_backlog=*/2);
  flooder.SetJournal(&journal);
  GrpcPollers link_pollers(1, nullptr);
  std::shared_ptr<PeerLink> peer_link = CountingLink(flooder, link_pollers);
  StreamOnlyNode node(flooder, peer_link);

  grpc::ClientContext context;
  auto stream = node.OpenStream(context);
  // Three accepted updates: more than the journal may hold back.
  ASSERT_TRUE(stream->Write(Batch({"a", "b", "c"})));
  ASSERT_TRUE(stream->Write(Batch({"d"})));
  // The receiver waits for the journal before its next read...
  ASSERT_TRUE(PollUntil(absl::Seconds(20), [&] {
    return journal.waiting() == 1 && store.size() == 3;
  }));
  // ...so the second batch is still unread (at the sender or in transit).
  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(peer_link->Status().updates_received(), 3u);

  journal.Drain();  // the disk caught up: reading goes on
  ASSERT_TRUE(PollUntil(absl::Seconds(20), [&] { return store.size() == 4; }));
  stream->WritesDone();
  // The one answer comes once everything is durable.
  ASSERT_TRUE(
      PollUntil(absl::Seconds(20), [&] { return journal.waiting() == 1; }));
  journal.Drain();
  v1::PropagateLocationsResponse answer;
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_EQ(answer.updates_received(), 4u);
  EXPECT_TRUE(stream->Finish().ok());
}

// A reloaded herd file that no longer links the peer stops its link: the
// stream still open from that peer is refused at its next message, and what
// that message carried changes nothing.
TEST(PropagateStreamTest, EndsTheStreamOfAPeerNoLongerLinked) {
  LocationStore store;
  Flooder flooder(store);
  GrpcPollers link_pollers(1, nullptr);
  std::shared_ptr<PeerLink> peer_link = CountingLink(flooder, link_pollers);
  StreamOnlyNode node(flooder, peer_link);

  grpc::ClientContext context;
  auto stream = node.OpenStream(context);
  ASSERT_TRUE(stream->Write(Batch({"a"})));
  ASSERT_TRUE(PollUntil(absl::Seconds(20), [&] { return store.size() == 1; }));
  peer_link->Stop();
  // Whether this write gets through or not, its message is not flooded.
  static_cast<void>(stream->Write(Batch({"b"})));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(status.error_message().find("no longer linked"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(store.size(), 1u);
  EXPECT_FALSE(store.Get("b").has_value());
}

}  // namespace
}  // namespace herd
