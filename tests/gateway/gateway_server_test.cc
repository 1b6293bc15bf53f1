// The gateway against a real in-process gRPC server running a fake node
// (fake_node.h), talked to over real TCP sockets on 127.0.0.x.
#include "gateway/gateway_server.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "common/grpc_pollers.h"
#include "common/location_text.h"
#include "fmt/format.h"
#include "gateway/protocol.h"
#include "gateway/report_batcher.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "herd/v1/herd.grpc.pb.h"
#include "spdlog/logger.h"
#include "spdlog/sinks/ringbuffer_sink.h"
#include "tests/gateway/fake_node.h"
#include "tests/gateway/test_client.h"

namespace herd::gateway {
namespace {

using ::herd::gateway::testing::FakeNode;
using ::herd::gateway::testing::kKiwiCoordinates;
using ::herd::gateway::testing::kKiwiTime;
using ::herd::gateway::testing::TestClient;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class GatewayServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int grpc_port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &grpc_port);
    builder.RegisterService(&node_);
    node_.Serving();
    grpc_server_ = builder.BuildAndStart();
    ASSERT_NE(grpc_server_, nullptr);
    pollers_.Start();
    log_sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(200000);
    log_ = std::make_shared<spdlog::logger>("gateway-test", log_sink_);
  }

  void TearDown() override {
    if (gateway_) gateway_->Stop();
    node_.JoinLateAnswers();
    grpc_server_->Shutdown();
    node_.ServerStopped();
  }

  // Starts the gateway on 127.0.0.1, port 0.
  void StartGateway(v1::GatewayLimits limits = {},
                    std::vector<std::string> trusted = {}) {
    GatewayOptions options;
    options.server_name = "Hamilton";
    options.listen_address = "127.0.0.1:0";
    options.trusted_peer_addresses = std::move(trusted);
    if (limits.threads() == 0) limits.set_threads(2);
    options.limits = limits;
    gateway_ = std::make_unique<GatewayServer>(
        options, grpc_server_->InProcessChannel(grpc::ChannelArguments()),
        pollers_, log_);
    const absl::Status status = gateway_->Start();
    ASSERT_TRUE(status.ok()) << status;
    ASSERT_NE(gateway_->BoundPort(), 0);
  }

  std::unique_ptr<TestClient> Connect(const std::string& bind_ip = "",
                                      int receive_buffer_bytes = 0) {
    return TestClient::Connect(gateway_->BoundPort(), bind_ip,
                               receive_buffer_bytes);
  }

  bool LogContains(std::string_view text) {
    for (const std::string& line : log_sink_->last_formatted()) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

  // Polls the log (bounded) until it contains text.
  bool WaitForLog(std::string_view text) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (LogContains(text)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  static std::string IamatLine(const std::string& client) {
    return fmt::format("IAMAT {} {} {}\n", client, kKiwiCoordinates, kKiwiTime);
  }

  // Sends an IAMAT and checks that its AT reply comes back.
  static void ExpectIamatWorks(TestClient& client, const std::string& id) {
    ASSERT_TRUE(client.Send(IamatLine(id)));
    const auto reply = client.ReadLine();
    ASSERT_TRUE(reply.has_value()) << "no reply for " << id;
    EXPECT_THAT(*reply, StartsWith("AT Hamilton "));
    EXPECT_THAT(*reply, HasSubstr(" " + id + " "));
  }

  FakeNode node_;
  std::unique_ptr<grpc::Server> grpc_server_;
  // Polls the gateway's calls to the node; outlives the gateway.
  GrpcPollers pollers_{1, nullptr};
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_sink_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<GatewayServer> gateway_;
};

TEST_F(GatewayServerTest, IamatReplyIsByteExact) {
  StartGateway();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send(IamatLine("kiwi.cs.ucla.edu")));
  const auto reply = client->ReadLine();
  ASSERT_TRUE(reply.has_value());

  const auto reports = node_.reports();
  ASSERT_EQ(reports.size(), 1U);
  const v1::ReportLocationRequest& report = reports[0];
  EXPECT_EQ(report.client_id(), "kiwi.cs.ucla.edu");
  EXPECT_EQ(report.coordinates_text(), kKiwiCoordinates);
  EXPECT_EQ(report.client_time_text(), kKiwiTime);
  EXPECT_GT(report.received_at().seconds(), 0);  // stamped by the gateway
  const std::string difference = FormatTimeDifference(
      report.received_at(), ParseClientTime(kKiwiTime).value());
  EXPECT_EQ(*reply, fmt::format("AT Hamilton {} kiwi.cs.ucla.edu {} {}\n",
                                difference, kKiwiCoordinates, kKiwiTime));
  EXPECT_TRUE(LogContains("IN IAMAT kiwi.cs.ucla.edu"));
  EXPECT_TRUE(LogContains("OUT AT Hamilton"));
  EXPECT_TRUE(LogContains("connection opened from 127.0.0.1:"));
}

TEST_F(GatewayServerTest, PipelinedLinesAreAnsweredInOrder) {
  StartGateway();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  constexpr int kLines = 100;
  std::string lines;
  std::vector<std::string> ids;
  for (int i = 0; i < kLines; ++i) {
    // Every fifth client is answered late by the node, so completion order
    // differs from arrival order.
    ids.push_back(i % 5 == 0 ? fmt::format("slow{}", i)
                             : fmt::format("client{}", i));
    lines += IamatLine(ids.back());
  }
  ASSERT_TRUE(client->Send(lines));
  for (int i = 0; i < kLines; ++i) {
    const auto reply = client->ReadLine();
    ASSERT_TRUE(reply.has_value()) << "reply " << i << " missing";
    EXPECT_THAT(*reply, HasSubstr(" " + ids[i] + " ")) << "reply " << i;
  }
}

TEST_F(GatewayServerTest, PipeliningBeyondTheInFlightLimitStillAnswersAll) {
  v1::GatewayLimits limits;
  limits.set_max_pipelined_requests(2);
  StartGateway(limits);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  std::string lines;
  for (int i = 0; i < 20; ++i) lines += IamatLine(fmt::format("slow{}", i));
  ASSERT_TRUE(client->Send(lines));
  for (int i = 0; i < 20; ++i) {
    const auto reply = client->ReadLine();
    ASSERT_TRUE(reply.has_value()) << "reply " << i << " missing";
    EXPECT_THAT(*reply, HasSubstr(fmt::format(" slow{} ", i)));
  }
}

// Where events has none of a or b, an error naming the missing one; else
// whether a comes before b.
::testing::AssertionResult ComesBefore(const std::vector<std::string>& events,
                                       const std::string& a,
                                       const std::string& b) {
  const auto a_at = std::find(events.begin(), events.end(), a);
  const auto b_at = std::find(events.begin(), events.end(), b);
  if (a_at == events.end() || b_at == events.end()) {
    return ::testing::AssertionFailure()
           << "missing '" << (a_at == events.end() ? a : b) << "' in "
           << ::testing::PrintToString(events);
  }
  if (a_at < b_at) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "'" << b << "' came before '" << a << "' in "
         << ::testing::PrintToString(events);
}

// Pipelined lines act in the order sent: the node answers these IAMATs late,
// yet each WHATSAT behind one reaches the node only after it is applied, and
// the IAMAT behind a (late) WHATSAT only after that is answered.
TEST_F(GatewayServerTest, PipelinedEffectsKeepTheConnectionsOrder) {
  StartGateway();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send(IamatLine("slow-a") + "WHATSAT slow-a 10 1\n" +
                           "WHATSAT slow-b 10 1\n" + IamatLine("slow-b") +
                           IamatLine("slow-c") + IamatLine("slow-d") +
                           "WHATSAT slow-d 10 1\n"));
  for (const std::string id :
       {"slow-a", "slow-a", "slow-b", "slow-b", "slow-c", "slow-d", "slow-d"}) {
    const auto reply = client->ReadLine();
    ASSERT_TRUE(reply.has_value()) << "no reply about " << id;
    EXPECT_THAT(*reply, HasSubstr(" " + id + " "));
    if (!reply->starts_with("AT Hamilton ")) {  // a WHATSAT's: AT line, JSON
      ASSERT_TRUE(client->ReadUntil("\n\n").has_value());
    }
  }
  const std::vector<std::string> events = node_.events();
  EXPECT_TRUE(ComesBefore(events, "reported slow-a", "whatsat slow-a"));
  EXPECT_TRUE(ComesBefore(events, "answered slow-b", "report slow-b"));
  EXPECT_TRUE(ComesBefore(events, "reported slow-c", "whatsat slow-d"));
  EXPECT_TRUE(ComesBefore(events, "reported slow-d", "whatsat slow-d"));
  // Consecutive IAMATs still go to the node without waiting for each other.
  EXPECT_TRUE(ComesBefore(events, "report slow-d", "reported slow-c"));
}

TEST_F(GatewayServerTest, MalformedLinesGetQuestionMarkAndConnectionStays) {
  StartGateway();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const std::vector<std::string> kinds = {
      "HELLO",
      "IAMAT kiwi +34.068930-118.445127",
      "IAMAT kiwi 34.068930-118.445127 1621464827.5",
      "IAMAT kiwi +91-118 1621464827.5",
      "IAMAT kiwi +34-118 1e9",
      "WHATSAT kiwi 0 5",
      "WHATSAT kiwi 51 5",
      "WHATSAT kiwi 10 21",
      "WHATSAT kiwi 10abc 5",
      "AT Parker +0.5 kiwi +34-118",
  };
  std::string sent;
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) {
    const std::string line = fmt::format("{} #{}", kinds[i % kinds.size()], i);
    // Some lines end in "\r\n": the echo must not contain the "\r".
    sent += line + (i % 2 == 0 ? "\r\n" : "\n");
    expected.push_back("? " + line + "\n");
  }
  ASSERT_TRUE(client->Send(sent));
  for (const std::string& want : expected) {
    const auto reply = client->ReadLine();
    ASSERT_TRUE(reply.has_value()) << "missing " << want;
    EXPECT_EQ(*reply, want);
  }
  EXPECT_TRUE(node_.reports().empty());  // junk never reached the node
  ExpectIamatWorks(*client, "after.junk");
}

TEST_F(GatewayServerTest, EmptyLineIsInvalid) {
  StartGateway();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("\n \t\r\n"));
  EXPECT_EQ(client->ReadLine(), "? \n");
  EXPECT_EQ(client->ReadLine(), "?  \t\n");
}

TEST_F(GatewayServerTest, WhatsatRepliesWithAtLineAndJson) {
  StartGateway();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("WHATSAT kiwi 10 3\nWHATSAT unknown 10 3\n"));
  const auto reply = client->ReadUntil("\n\n");
  ASSERT_TRUE(reply.has_value());
  google::protobuf::RepeatedPtrField<v1::Place> places;
  for (uint32_t i = 0; i < 3; ++i) *places.Add() = node_.CannedPlace(i);
  EXPECT_EQ(*reply,
            FormatWhatsatReply(FakeNode::CannedLocation("kiwi"), places));
  EXPECT_THAT(*reply, StartsWith("AT Parker +0.040501498 kiwi "));
  EXPECT_THAT(*reply, HasSubstr("\"place_id\": \"place-2\""));
  // The node does not know the client: NOT_FOUND becomes "? ".
  EXPECT_EQ(client->ReadLine(), "? WHATSAT unknown 10 3\n");
}

TEST_F(GatewayServerTest, OverLongLineClosesOnlyThatConnection) {
  v1::GatewayLimits limits;
  limits.set_max_line_bytes(100);
  StartGateway(limits);
  auto bystander = Connect();
  auto offender = Connect();
  ASSERT_NE(bystander, nullptr);
  ASSERT_NE(offender, nullptr);
  // A line of exactly the limit is fine (the IAMAT is padded with spaces).
  std::string at_limit = IamatLine("exact");
  at_limit.insert(0, 101 - at_limit.size(), ' ');
  ASSERT_TRUE(offender->Send(at_limit));
  const auto ok_reply = offender->ReadLine();
  ASSERT_TRUE(ok_reply.has_value());
  EXPECT_THAT(*ok_reply, HasSubstr(" exact "));

  ASSERT_TRUE(offender->Send(std::string(5000, 'x') + "\n"));
  EXPECT_EQ(offender->ReadLine(), "? line too long (limit 100 bytes)\n");
  EXPECT_TRUE(offender->WaitForClose());
  ExpectIamatWorks(*bystander, "bystander");
  EXPECT_TRUE(WaitForLog("line longer than 100 bytes"));
}

TEST_F(GatewayServerTest, MaxConnectionsIsEnforced) {
  v1::GatewayLimits limits;
  limits.set_max_connections(2);
  StartGateway(limits);
  auto first = Connect();
  auto second = Connect();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  // Both are registered once they have been answered.
  ExpectIamatWorks(*first, "first");
  ExpectIamatWorks(*second, "second");
  auto third = Connect();
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(third->ReadLine(), "? server busy: too many connections\n");
  EXPECT_TRUE(third->WaitForClose());
  ExpectIamatWorks(*first, "first.again");

  // Once one leaves, a newcomer is served (the server notices the close
  // asynchronously, so poll with a bound).
  first.reset();
  bool served = false;
  for (int attempt = 0; attempt < 200 && !served; ++attempt) {
    auto newcomer = Connect();
    ASSERT_NE(newcomer, nullptr);
    ASSERT_TRUE(newcomer->Send(IamatLine("newcomer")));
    const auto reply = newcomer->ReadLine();
    ASSERT_TRUE(reply.has_value());
    served = reply->starts_with("AT ");
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served);
}

std::string ParkerAtLine(const std::string& client) {
  return fmt::format("AT Parker +0.500000000 {} {} {}\n", client,
                     kKiwiCoordinates, kKiwiTime);
}

TEST_F(GatewayServerTest, AtFromUntrustedPeerIsRefused) {
  StartGateway({}, {"127.0.0.2"});
  auto client = Connect();  // from 127.0.0.1
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send(ParkerAtLine("forged")));
  EXPECT_EQ(client->ReadLine(), "? " + ParkerAtLine("forged"));
  EXPECT_TRUE(node_.propagations().empty());
}

void ExpectTrustedAtIsForwarded(TestClient& peer, FakeNode& node) {
  ASSERT_TRUE(peer.Send(ParkerAtLine("kiwi")));
  // The AT gets no reply; the IAMAT after it does, and replies are in
  // order, so the AT has been handled once this arrives.
  ASSERT_TRUE(peer.Send(
      fmt::format("IAMAT marker {} {}\n", kKiwiCoordinates, kKiwiTime)));
  const auto reply = peer.ReadLine();
  ASSERT_TRUE(reply.has_value());
  EXPECT_THAT(*reply, StartsWith("AT Hamilton "));
  EXPECT_THAT(*reply, HasSubstr(" marker "));

  const auto propagations = node.propagations();
  ASSERT_EQ(propagations.size(), 1U);
  const v1::PropagateLocationRequest& request = propagations[0];
  EXPECT_EQ(request.from_server(), "");
  const v1::Location& location = request.location();
  EXPECT_EQ(location.origin_server(), "Parker");
  EXPECT_EQ(location.client_id(), "kiwi");
  EXPECT_EQ(location.coordinates_text(), kKiwiCoordinates);
  EXPECT_EQ(location.client_time_text(), kKiwiTime);
  EXPECT_EQ(location.client_time().seconds(), 1621464827);
  EXPECT_EQ(location.client_time().nanos(), 959498503);
  EXPECT_EQ(location.server_time().seconds(), 1621464828);
  EXPECT_EQ(location.server_time().nanos(), 459498503);
}

TEST_F(GatewayServerTest, AtFromTrustedPeerIsForwardedWithoutReply) {
  StartGateway({}, {"127.0.0.2"});
  auto peer = Connect("127.0.0.2");
  ASSERT_NE(peer, nullptr);
  ExpectTrustedAtIsForwarded(*peer, node_);
}

TEST_F(GatewayServerTest, TrustedAddressesCompareAsIps) {
  StartGateway({}, {"::ffff:127.0.0.2"});
  auto peer = Connect("127.0.0.2");
  ASSERT_NE(peer, nullptr);
  ExpectTrustedAtIsForwarded(*peer, node_);
}

TEST_F(GatewayServerTest, IdleConnectionIsClosed) {
  v1::GatewayLimits limits;
  limits.set_idle_timeout_seconds(1);
  StartGateway(limits);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ExpectIamatWorks(*client, "sleepy");
  EXPECT_TRUE(client->WaitForClose(std::chrono::seconds(20)));
  EXPECT_TRUE(WaitForLog("idle for 1 s"));
}

// The idle time-out measures the client's silence, not the node's: a request
// the node takes longer than the time-out to answer still gets its reply,
// and idle time counts from then.
TEST_F(GatewayServerTest, SlowNodeDoesNotMakeTheClientIdle) {
  v1::GatewayLimits limits;
  limits.set_idle_timeout_seconds(1);
  StartGateway(limits);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("WHATSAT dawdling 10 1\n"));
  const auto reply = client->ReadUntil("\n\n", std::chrono::seconds(20));
  ASSERT_TRUE(reply.has_value()) << "closed before the node answered";
  EXPECT_THAT(*reply, HasSubstr(" dawdling "));
  EXPECT_TRUE(client->WaitForClose(std::chrono::seconds(20)));
  EXPECT_TRUE(WaitForLog("idle for 1 s"));
}

TEST_F(GatewayServerTest, ClientThatDoesNotReadIsClosed) {
  node_.set_place_name_padding(400);  // ~10 KB per WHATSAT reply
  v1::GatewayLimits limits;
  limits.set_max_pending_output_bytes(64 * 1024);
  StartGateway(limits);
  auto bystander = Connect();
  auto sluggard = Connect("", /*receive_buffer_bytes=*/4096);
  ASSERT_NE(bystander, nullptr);
  ASSERT_NE(sluggard, nullptr);
  // ~40 MB of replies: far more than the kernel buffers between us and the
  // server (a few MB), so the rest piles up in the gateway.
  std::string lines;
  for (int i = 0; i < 4000; ++i) lines += "WHATSAT kiwi 10 20\n";
  ASSERT_TRUE(sluggard->Send(lines));
  ASSERT_TRUE(WaitForLog("client is not reading"));
  ExpectIamatWorks(*bystander, "bystander");
  EXPECT_TRUE(sluggard->WaitForClose(std::chrono::seconds(20)));
}

TEST_F(GatewayServerTest, HalfClosedClientStillGetsItsReplies) {
  StartGateway();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  // Like `printf 'IAMAT ...\nIAMAT ...' | nc -N`: the last line has no
  // "\n" and the client closes its sending side right after.
  std::string last = IamatLine("slow.last");
  last.pop_back();
  ASSERT_TRUE(client->Send(IamatLine("slow.first") + last));
  ASSERT_TRUE(client->ShutdownSend());
  const auto first = client->ReadLine();
  const auto second = client->ReadLine();
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  EXPECT_THAT(*first, HasSubstr(" slow.first "));
  EXPECT_THAT(*second, HasSubstr(" slow.last "));
  EXPECT_TRUE(client->WaitForClose());
}

TEST_F(GatewayServerTest, IamatsOfEveryConnectionShareOneStream) {
  StartGateway();
  constexpr int kConnections = 8;
  constexpr int kLines = 20;
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int c = 0; c < kConnections; ++c) {
    clients.push_back(Connect());
    ASSERT_NE(clients.back(), nullptr);
    std::string lines;
    for (int i = 0; i < kLines; ++i) {
      // Some messages are answered late: results come back out of order
      // and must still reach the right connection, in its order.
      lines +=
          IamatLine(fmt::format("{}c{}.{}", i % 3 == 0 ? "slow" : "", c, i));
    }
    ASSERT_TRUE(clients.back()->Send(lines));
  }
  for (int c = 0; c < kConnections; ++c) {
    for (int i = 0; i < kLines; ++i) {
      const auto reply = clients[c]->ReadLine();
      ASSERT_TRUE(reply.has_value()) << "connection " << c << " reply " << i;
      EXPECT_THAT(*reply, StartsWith("AT Hamilton "));
      EXPECT_THAT(*reply, HasSubstr(fmt::format("c{}.{} ", c, i)));
    }
  }
  EXPECT_EQ(node_.reports().size(), size_t{kConnections} * kLines);
  EXPECT_EQ(node_.streams_opened(), 1);
}

// Records the results the batcher delivers.
class RecordingWaiter final : public ReportWaiter {
 public:
  void OnReportDone(uint64_t tag, const grpc::Status& status,
                    const v1::ReportLocationResponse* /*response*/) override {
    std::lock_guard lock(mutex_);
    if (status.ok()) ok_.push_back(tag);
  }
  size_t ok() {
    std::lock_guard lock(mutex_);
    return ok_.size();
  }

 private:
  std::mutex mutex_;
  std::vector<uint64_t> ok_;
};

// A report that finds the stream idle waits (report_linger_us) for the
// ones behind it, so that they share its message. The linger is a timer of
// the submitting thread's event loop: while that loop does not run, it
// cannot end, however long the submissions take.
TEST_F(GatewayServerTest, ReportsSubmittedDuringTheLingerShareOneMessage) {
  boost::asio::io_context loop;
  boost::asio::steady_timer linger_timer(loop);
  ReportBatcher batcher(
      grpc_server_->InProcessChannel(grpc::ChannelArguments()), pollers_,
      std::chrono::seconds(5), std::chrono::microseconds(200));
  auto waiter = std::make_shared<RecordingWaiter>();
  constexpr int kReports = 5;
  const std::vector<std::string> ids = {"l0", "l1", "l2", "l3", "l4"};
  for (int i = 0; i < kReports; ++i) {
    batcher.Submit(waiter, static_cast<uint64_t>(i),
                   ReportFields{ids[static_cast<size_t>(i)], kKiwiCoordinates,
                                kKiwiTime, v1::Instant()},
                   linger_timer);
  }
  loop.run();  // the linger ends: its message is written
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (waiter->ok() < size_t{kReports} &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(waiter->ok(), size_t{kReports});
  EXPECT_EQ(node_.largest_message(), kReports);
  EXPECT_EQ(node_.reports().size(), size_t{kReports});
  batcher.Shutdown();
}

// Without a linger (the default), an IAMAT that finds nothing in flight
// goes at once, alone; the ones behind it wait while the node works on it and
// then share the next message.
TEST_F(GatewayServerTest, IamatsWaitingForTheNodeShareTheNextMessage) {
  StartGateway();
  std::unique_ptr<TestClient> client = Connect();
  ASSERT_NE(client, nullptr);
  // Answered late (see FakeNode): the node is still on it below.
  ASSERT_TRUE(client->Send(IamatLine("slow.first")));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (node_.reports().empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(node_.reports().size(), 1u);
  EXPECT_EQ(node_.largest_message(), 1);
  constexpr int kLines = 5;
  std::string lines;
  for (int i = 0; i < kLines; ++i) lines += IamatLine(fmt::format("u{}", i));
  ASSERT_TRUE(client->Send(lines));
  for (int i = 0; i <= kLines; ++i) {
    ASSERT_TRUE(client->ReadLine().has_value()) << "reply " << i;
  }
  EXPECT_EQ(node_.reports().size(), size_t{kLines} + 1);
  EXPECT_EQ(node_.largest_message(), kLines);
}

TEST_F(GatewayServerTest, RefusedReportGetsQuestionMarkAndOnlyIt) {
  StartGateway();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  std::vector<std::string> lines;
  std::string sent;
  for (int i = 0; i < 10; ++i) {
    lines.push_back(
        IamatLine(fmt::format("{}{}", i == 4 ? "refuse" : "ok", i)));
    sent += lines.back();
  }
  ASSERT_TRUE(client->Send(sent));
  for (int i = 0; i < 10; ++i) {
    const auto reply = client->ReadLine();
    ASSERT_TRUE(reply.has_value()) << "reply " << i;
    if (i == 4) {
      EXPECT_EQ(*reply, "? " + lines[i]);
    } else {
      EXPECT_THAT(*reply, StartsWith("AT Hamilton "));
      EXPECT_THAT(*reply, HasSubstr(fmt::format(" ok{} ", i)));
    }
  }
  EXPECT_TRUE(WaitForLog("refused by the fake node"));
  EXPECT_EQ(node_.streams_opened(), 1);  // a refusal does not end the stream
}

// Polls (bounded) until the node has been sent a report for client_id.
bool WaitForReport(FakeNode& node, const std::string& client_id) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& report : node.reports()) {
      if (report.client_id() == client_id) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST_F(GatewayServerTest, BrokenStreamAnswersEveryWaitingReport) {
  StartGateway();
  auto waiting = Connect();
  auto breaker = Connect();
  ASSERT_NE(waiting, nullptr);
  ASSERT_NE(breaker, nullptr);
  // The node works on one message for a while (1.5 s)...
  const std::string first = IamatLine("dawdling.first");
  ASSERT_TRUE(waiting->Send(first));
  ASSERT_TRUE(WaitForReport(node_, "dawdling.first"));
  // ... and the reports behind it share the next message, which breaks the
  // stream when it is written.
  const std::string queued = IamatLine("queued.waiting");
  ASSERT_TRUE(waiting->Send(queued));
  const std::string broken = IamatLine("break.it");
  const std::string late = IamatLine("slow.after");
  ASSERT_TRUE(breaker->Send(broken + late));
  const auto first_reply = waiting->ReadLine();
  ASSERT_TRUE(first_reply.has_value());
  EXPECT_THAT(*first_reply, StartsWith("AT Hamilton "));
  EXPECT_EQ(waiting->ReadLine(), "? " + queued);
  EXPECT_EQ(breaker->ReadLine(), "? " + broken);
  // The report after the break went on the broken stream or a new one:
  // either way it is answered, never left hanging.
  const auto after = breaker->ReadLine();
  ASSERT_TRUE(after.has_value());
  EXPECT_THAT(*after, ::testing::AnyOf(StartsWith("AT Hamilton "),
                                       ::testing::Eq("? " + late)));
  // A new stream serves everyone again.
  ExpectIamatWorks(*waiting, "then.fine");
  ExpectIamatWorks(*breaker, "then.fine.too");
  EXPECT_GE(node_.streams_opened(), 2);
  EXPECT_TRUE(WaitForLog("ReportLocation failed: code 14"));
}

TEST_F(GatewayServerTest, StuckNodeGetsQuestionMarkAfterTheDeadline) {
  StartGateway();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const std::string stuck = IamatLine("stuck.forever");
  ASSERT_TRUE(client->Send(stuck));
  // kNodeCallDeadline (5 s), checked every half second.
  EXPECT_EQ(client->ReadLine(std::chrono::seconds(20)), "? " + stuck);
  EXPECT_TRUE(WaitForLog("did not answer in time"));
  ExpectIamatWorks(*client, "then.fine");
}

// These tests never reach the node; the channel connects lazily.
std::shared_ptr<grpc::Channel> UnusedChannel() {
  return grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
}

TEST(GatewayServerStartTest, BadAddressesAreErrorsNamingThem) {
  auto log = std::make_shared<spdlog::logger>("start-test");
  GrpcPollers pollers(1, nullptr);  // never polled: no call is made
  for (const std::string address :
       {"nonsense", "127.0.0.1:99999", "::1:7000", "[::1]7000", "127.0.0.1:"}) {
    GatewayOptions options;
    options.listen_address = address;
    GatewayServer gateway(options, UnusedChannel(), pollers, log);
    const absl::Status status = gateway.Start();
    EXPECT_FALSE(status.ok()) << address;
    EXPECT_THAT(std::string(status.message()), HasSubstr(address));
  }
}

TEST(GatewayServerStartTest, PortInUseIsAnErrorNamingTheAddress) {
  auto log = std::make_shared<spdlog::logger>("start-test");
  GrpcPollers pollers(1, nullptr);  // never polled: no call is made
  GatewayOptions options;
  options.listen_address = "127.0.0.1:0";
  GatewayServer first(options, UnusedChannel(), pollers, log);
  ASSERT_TRUE(first.Start().ok());
  options.listen_address = fmt::format("127.0.0.1:{}", first.BoundPort());
  GatewayServer second(options, UnusedChannel(), pollers, log);
  const absl::Status status = second.Start();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(options.listen_address));
}

TEST(GatewayServerStartTest, StopIsIdempotent) {
  auto log = std::make_shared<spdlog::logger>("start-test");
  GrpcPollers pollers(1, nullptr);  // never polled: no call is made
  GatewayOptions options;
  options.listen_address = "[::1]:0";
  GatewayServer gateway(options, UnusedChannel(), pollers, log);
  const absl::Status status = gateway.Start();
  if (!status.ok()) GTEST_SKIP() << "no IPv6 loopback: " << status;
  gateway.Stop();
  gateway.Stop();
}

}  // namespace
}  // namespace herd::gateway
