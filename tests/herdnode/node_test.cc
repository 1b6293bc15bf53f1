// Real Nodes on loopback: flooding across a chain, catch-up of nodes that
// start late or restart, and every answer of the HerdNode service.
#include "herdnode/node.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/grpc_handoff.h"
#include "common/location_text.h"
#include "common/mutex.h"
#include "common/status_text.h"
#include "fault_env.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "herdnode/config.h"
#include "herdnode/durable/record_format.h"
#include "herdnode/mesh/location_check.h"
#include "test_herd.h"
#include "test_location.h"

namespace herd {
namespace {

using ::herd::testing::MakeLocation;
using ::herd::testing::PollUntil;
using ::herd::testing::TestHerd;
using ::testing::HasSubstr;

constexpr char kKiwi[] = "kiwi.cs.ucla.edu";
constexpr char kCoordinates[] = "+34.068930-118.445127";

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  return context;
}

v1::GetStatusResponse Status(v1::HerdNode::Stub& stub) {
  v1::GetStatusResponse response;
  EXPECT_TRUE(stub.GetStatus(Context().get(), {}, &response).ok());
  return response;
}

const v1::PeerStatus* PeerOf(const v1::GetStatusResponse& status,
                             const std::string& peer) {
  for (const v1::PeerStatus& p : status.peers()) {
    if (p.name() == peer) return &p;
  }
  return nullptr;
}

TEST(NodeHerdTest, UpdateAtAReachesCThroughB) {
  TestHerd herd({"A", "B", "C"}, {{"A", "B"}, {"B", "C"}});
  for (const char* name : {"A", "B", "C"}) ASSERT_TRUE(herd.Start(name).ok());
  ASSERT_TRUE(
      herd.Report("A", kKiwi, kCoordinates, "1621464827.959498503").ok());
  ASSERT_TRUE(herd.WaitForLocation("C", kKiwi, "1621464827.959498503"));

  v1::GetLocationResponse got;
  v1::GetLocationRequest request;
  request.set_client_id(kKiwi);
  ASSERT_TRUE(herd.Stub("C")->GetLocation(Context().get(), request, &got).ok());
  EXPECT_EQ(got.location().origin_server(), "A");
  EXPECT_EQ(got.location().coordinates_text(), kCoordinates);

  // A newer report at C comes back to A the same way.
  ASSERT_TRUE(herd.Report("C", kKiwi, "+1-1", "1621464827.959498504").ok());
  EXPECT_TRUE(herd.WaitForLocation("A", kKiwi, "1621464827.959498504"));
}

// The herd file changes while every node serves: A-B becomes B-C. Each node
// applies it on its own; the new link comes up (and catches up), the old one
// is closed at both ends, and updates take the new path.
TEST(NodeHerdTest, ReconfigureMovesALinkWhileServing) {
  TestHerd herd({"A", "B", "C"}, {{"A", "B"}});
  for (const char* name : {"A", "B", "C"}) ASSERT_TRUE(herd.Start(name).ok());
  ASSERT_TRUE(herd.WaitForLinkState("A", "B", "UP"));
  ASSERT_TRUE(herd.Report("A", kKiwi, kCoordinates, "100").ok());
  ASSERT_TRUE(herd.WaitForLocation("B", kKiwi, "100"));

  v1::HerdConfig next = herd.config();
  next.clear_links();
  v1::Link* link = next.add_links();
  link->set_a("B");
  link->set_b("C");
  const ReloadResult at_b = herd.node("B").Reconfigure(next);
  ASSERT_TRUE(at_b.ok()) << at_b.status();
  EXPECT_THAT(at_b->links_added(), ::testing::ElementsAre("C"));
  EXPECT_THAT(at_b->links_removed(), ::testing::ElementsAre("A"));
  for (const char* name : {"A", "C"}) {
    ASSERT_TRUE(herd.node(name).Reconfigure(next).ok()) << name;
  }
  // C catches up on what B held before the link existed.
  ASSERT_TRUE(herd.WaitForLocation("C", kKiwi, "100"));
  ASSERT_TRUE(herd.WaitForLinkState("C", "B", "UP"));
  EXPECT_EQ(Status(*herd.Stub("A")).peers_size(), 0);
  EXPECT_EQ(herd.node("B").config()->links_size(), 1);
  ASSERT_TRUE(herd.Report("C", kKiwi, kCoordinates, "101").ok());
  ASSERT_TRUE(herd.WaitForLocation("B", kKiwi, "101"));
  // A is no longer linked to B: B refuses what it sends.
  v1::PropagateLocationRequest from_a;
  from_a.set_from_server("A");
  *from_a.mutable_location() = MakeLocation("emu", "5");
  v1::PropagateLocationResponse answer;
  EXPECT_EQ(herd.Stub("B")
                ->PropagateLocation(Context().get(), from_a, &answer)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST(NodeHerdTest, ReconfigureRefusesWhatCannotChangeAndChangesNothing) {
  TestHerd herd({"A", "B"}, {{"A", "B"}});
  for (const char* name : {"A", "B"}) ASSERT_TRUE(herd.Start(name).ok());
  ASSERT_TRUE(herd.WaitForLinkState("A", "B", "UP"));
  v1::HerdConfig next = herd.config();
  next.clear_links();
  next.mutable_servers(0)->set_grpc_address("127.0.0.1:1");  // A's own
  const ReloadResult refused = herd.node("A").Reconfigure(next);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(StatusMessage(refused.status()),
              HasSubstr("servers[A].grpc_address"));
  next = herd.config();
  next.add_links();  // a link with no ends: does not validate
  EXPECT_EQ(herd.node("A").Reconfigure(next).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Still linked, still the same file.
  EXPECT_TRUE(herd.WaitForLinkState("A", "B", "UP"));
  EXPECT_EQ(herd.node("A").config()->links_size(), 1);
  // A node started without a herd file has nothing to reload.
  std::optional<ReloadResult> reloaded;
  Mutex mu;
  herd.node("A").RequestReload([&](ReloadResult result) {
    MutexLock lock(&mu);
    reloaded = std::move(result);
  });
  ASSERT_TRUE(PollUntil(absl::Seconds(20), [&] {
    MutexLock lock(&mu);
    return reloaded.has_value();
  }));
  MutexLock lock(&mu);
  EXPECT_EQ(reloaded->status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(NodeHerdTest, ReloadIsServedOnTheOperatorListenerOnly) {
  TestHerd herd({"A"}, {});
  ASSERT_TRUE(herd.Start("A").ok());
  v1::ReloadResponse response;
  const grpc::Status status =
      herd.Stub("A")->Reload(Context().get(), {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("operator listener"));
}

TEST(NodeHerdTest, LiveUpdatesAreSentWhileUp) {
  TestHerd herd({"A", "B"}, {{"A", "B"}});
  ASSERT_TRUE(herd.Start("A").ok());
  ASSERT_TRUE(herd.Start("B").ok());
  ASSERT_TRUE(herd.WaitForLinkState("A", "B", "UP"));
  ASSERT_TRUE(herd.WaitForLinkState("B", "A", "UP"));
  ASSERT_TRUE(herd.Report("A", kKiwi, kCoordinates, "100").ok());
  ASSERT_TRUE(herd.WaitForLocation("B", kKiwi, "100"));
  auto a = herd.Stub("A");
  auto b = herd.Stub("B");
  // Nothing was there to catch up, so it went on the PropagateLocations
  // stream.
  EXPECT_TRUE(PollUntil(absl::Seconds(10), [&] {
    return PeerOf(Status(*a), "B")->updates_sent() >= 1;
  }));
  EXPECT_GE(PeerOf(Status(*b), "A")->updates_received(), 1u);
}

TEST(NodeHerdTest, BrokenStreamTakesTheLinkDownAndCatchUpRecovers) {
  TestHerd herd({"A", "B"}, {{"A", "B"}});
  ASSERT_TRUE(herd.Start("A").ok());
  ASSERT_TRUE(herd.Start("B").ok());
  ASSERT_TRUE(herd.WaitForLinkState("A", "B", "UP"));
  ASSERT_TRUE(herd.Report("A", kKiwi, kCoordinates, "1").ok());
  ASSERT_TRUE(herd.WaitForLocation("B", kKiwi, "1"));

  herd.Stop("B");
  // Each report goes to A's stream to B until a write finds it broken.
  int time = 1;
  ASSERT_TRUE(PollUntil(absl::Seconds(20), [&] {
    EXPECT_TRUE(
        herd.Report("A", kKiwi, kCoordinates, std::to_string(++time)).ok());
    return PeerOf(Status(*herd.Stub("A")), "B")->state() != "UP";
  }));
  ASSERT_TRUE(herd.Start("B").ok());
  ASSERT_TRUE(herd.WaitForLinkState("A", "B", "UP"));
  EXPECT_TRUE(herd.WaitForLocation("B", kKiwi, std::to_string(time)));
  // And live updates flow on the new stream.
  ASSERT_TRUE(herd.Report("A", "after", kCoordinates, "1").ok());
  EXPECT_TRUE(herd.WaitForLocation("B", "after", "1"));
}

TEST(NodeHerdTest, NodeStartedLaterCatchesUp) {
  TestHerd herd({"A", "B", "C"}, {{"A", "B"}, {"B", "C"}});
  ASSERT_TRUE(herd.Start("A").ok());
  ASSERT_TRUE(herd.Start("B").ok());
  ASSERT_TRUE(herd.Report("A", kKiwi, kCoordinates, "10.5").ok());
  ASSERT_TRUE(herd.Report("A", "lime", kCoordinates, "11").ok());
  ASSERT_TRUE(herd.WaitForLocation("B", kKiwi, "10.5"));
  ASSERT_TRUE(herd.WaitForLocation("B", "lime", "11"));

  ASSERT_TRUE(herd.Start("C").ok());
  EXPECT_TRUE(herd.WaitForLocation("C", kKiwi, "10.5"));
  EXPECT_TRUE(herd.WaitForLocation("C", "lime", "11"));
  EXPECT_GE(PeerOf(Status(*herd.Stub("C")), "B")->sync_entries_received(), 2u);
}

TEST(NodeHerdTest, RestartedNodeIsPulledFromTheStart) {
  TestHerd herd({"A", "B"}, {{"A", "B"}});
  ASSERT_TRUE(herd.Start("A").ok());
  ASSERT_TRUE(herd.Start("B").ok());
  ASSERT_TRUE(herd.Report("B", "early", kCoordinates, "1").ok());
  ASSERT_TRUE(herd.WaitForLocation("A", "early", "1"));
  const std::string old_epoch = herd.node("B").epoch();

  herd.Stop("B");
  ASSERT_TRUE(herd.Report("A", kKiwi, kCoordinates, "20").ok());
  ASSERT_TRUE(herd.Start("B").ok());
  EXPECT_NE(herd.node("B").epoch(), old_epoch);
  // B lost everything; it pulls A from A's start.
  EXPECT_TRUE(herd.WaitForLocation("B", kKiwi, "20"));
  EXPECT_TRUE(herd.WaitForLocation("B", "early", "1"));
  // And the restarted B's own reports reach A: A's link recovered.
  ASSERT_TRUE(herd.Report("B", "late", kCoordinates, "30").ok());
  EXPECT_TRUE(herd.WaitForLocation("A", "late", "30"));
}

class SingleNodeTest : public ::testing::Test {
 protected:
  // B is linked but never started: A's link to it stays down.
  SingleNodeTest() : herd_({"A", "B"}, {{"A", "B"}}) {}
  void SetUp() override {
    ASSERT_TRUE(herd_.Start("A", std::move(places_)).ok());
    stub_ = herd_.Stub("A");
  }

  grpc::Status Propagate(v1::HerdNode::Stub& stub, const std::string& from,
                         const v1::Location& location,
                         v1::UpdateOutcome* outcome = nullptr) {
    v1::PropagateLocationRequest request;
    request.set_from_server(from);
    *request.mutable_location() = location;
    v1::PropagateLocationResponse response;
    grpc::Status status =
        stub.PropagateLocation(Context().get(), request, &response);
    if (outcome != nullptr) *outcome = response.outcome();
    return status;
  }

  grpc::Status Report(const std::string& client, const std::string& coordinates,
                      const std::string& time,
                      v1::ReportLocationResponse* response) {
    v1::ReportLocationRequest request;
    request.set_client_id(client);
    request.set_coordinates_text(coordinates);
    request.set_client_time_text(time);
    return stub_->ReportLocation(Context().get(), request, response);
  }

  TestHerd herd_;
  std::unique_ptr<PlacesProvider> places_;
  std::unique_ptr<v1::HerdNode::Stub> stub_;
};

TEST_F(SingleNodeTest, TextAtLinesOnlyFromTheInProcessChannel) {
  v1::UpdateOutcome outcome{};
  const grpc::Status over_tcp =
      Propagate(*stub_, "", MakeLocation(kKiwi, "5", kCoordinates, "Hamilton"));
  EXPECT_EQ(over_tcp.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // Claiming to be local without the node's secret does not help.
  {
    v1::PropagateLocationRequest request;
    *request.mutable_location() = MakeLocation(kKiwi, "5");
    v1::PropagateLocationResponse response;
    auto context = Context();
    context->AddMetadata("x-herd-local-caller", "guess");
    EXPECT_EQ(stub_->PropagateLocation(context.get(), request, &response)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  auto in_process = v1::HerdNode::NewStub(herd_.node("A").InProcessChannel());
  const grpc::Status inside =
      Propagate(*in_process, "",
                MakeLocation(kKiwi, "5", kCoordinates, "Hamilton"), &outcome);
  ASSERT_TRUE(inside.ok()) << inside.error_message();
  EXPECT_EQ(outcome, v1::UPDATE_OUTCOME_ACCEPTED);
  EXPECT_TRUE(herd_.WaitForLocation("A", kKiwi, "5"));
}

TEST_F(SingleNodeTest, PeersMustBeLinked) {
  const grpc::Status status =
      Propagate(*stub_, "Zed", MakeLocation(kKiwi, "5"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("'Zed' is not a linked peer"));

  v1::UpdateOutcome outcome{};
  ASSERT_TRUE(Propagate(*stub_, "B", MakeLocation(kKiwi, "5"), &outcome).ok());
  EXPECT_EQ(outcome, v1::UPDATE_OUTCOME_ACCEPTED);
  ASSERT_TRUE(Propagate(*stub_, "B", MakeLocation(kKiwi, "5"), &outcome).ok());
  EXPECT_EQ(outcome, v1::UPDATE_OUTCOME_DUPLICATE);
  ASSERT_TRUE(Propagate(*stub_, "B", MakeLocation(kKiwi, "4"), &outcome).ok());
  EXPECT_EQ(outcome, v1::UPDATE_OUTCOME_STALE);
}

// Sends batches on one PropagateLocations stream and returns how it ended
// and (*response) the node's answer.
grpc::Status PropagateStream(
    v1::HerdNode::Stub& stub,
    const std::vector<v1::PropagateLocationsRequest>& batches,
    v1::PropagateLocationsResponse* response) {
  auto context = Context();
  std::unique_ptr<grpc::ClientReaderWriter<v1::PropagateLocationsRequest,
                                           v1::PropagateLocationsResponse>>
      stream = stub.PropagateLocations(context.get());
  for (const v1::PropagateLocationsRequest& batch : batches) {
    if (!stream->Write(batch)) break;  // refused: Finish says why
  }
  stream->WritesDone();
  // The node answers once, after this side is done writing (or not at all
  // if it refused the stream).
  response->Clear();
  stream->Read(response);
  return stream->Finish();
}

v1::PropagateLocationsRequest Batch(
    const std::string& from, const std::vector<v1::Location>& locations) {
  v1::PropagateLocationsRequest batch;
  batch.set_from_server(from);
  for (const v1::Location& location : locations) {
    *batch.add_locations() = location;
  }
  return batch;
}

// A node whose disk fails: the report is not acknowledged (UNAVAILABLE,
// naming the disk error), GetStatus says so, later reports and a peer's
// PropagateLocations stream are refused, and what was acknowledged before
// is back after a restart on the real disk.
TEST(NodeDurabilityTest, FailedDiskRefusesUpdatesAndSaysSoInStatus) {
  const std::string data = ::testing::TempDir() + "/node_test_failed_disk_" +
                           std::to_string(getpid());
  std::filesystem::remove_all(data);
  testing::FaultEnv env;
  TestHerd herd({"A", "B"}, {{"A", "B"}});
  herd.UseDurableLog(data, env);
  ASSERT_TRUE(herd.Start("A").ok());
  std::unique_ptr<v1::HerdNode::Stub> stub = herd.Stub("A");
  ASSERT_TRUE(herd.Report("A", kKiwi, kCoordinates, "10").ok());
  EXPECT_EQ(Status(*stub).durability_error(), "");

  env.Inject(testing::DiskFault::kWriteError);
  const grpc::Status failed = herd.Report("A", kKiwi, kCoordinates, "11");
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(failed.error_message(), HasSubstr("Input/output error"));
  EXPECT_GT(env.faults_hit(), 0u);
  const std::string disk_error = Status(*stub).durability_error();
  EXPECT_THAT(disk_error, HasSubstr("cannot write " + data + "/A/log."));
  EXPECT_THAT(failed.error_message(), HasSubstr(disk_error));

  // Refused until a restart, even with the disk working again.
  env.Inject(testing::DiskFault::kNone);
  const grpc::Status later = herd.Report("A", "lime", kCoordinates, "1");
  EXPECT_EQ(later.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(later.error_message(), HasSubstr(disk_error));
  v1::PropagateLocationsResponse answer;
  const grpc::Status propagated = PropagateStream(
      *stub, {Batch("B", {MakeLocation("plum", "1")})}, &answer);
  EXPECT_EQ(propagated.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(propagated.error_message(), HasSubstr(disk_error));
  for (const char* client : {"lime", "plum"}) {
    v1::GetLocationRequest request;
    request.set_client_id(client);
    v1::GetLocationResponse got;
    EXPECT_EQ(stub->GetLocation(Context().get(), request, &got).error_code(),
              grpc::StatusCode::NOT_FOUND)
        << client << " was stored though its update was refused";
  }

  herd.Stop("A");
  herd.UseDurableLog(data, PosixDurableEnv());
  ASSERT_TRUE(herd.Start("A").ok());
  stub = herd.Stub("A");
  EXPECT_TRUE(herd.WaitForLocation("A", kKiwi, "10"));
  EXPECT_EQ(Status(*stub).durability_error(), "");
  std::filesystem::remove_all(data);
}

TEST_F(SingleNodeTest, StreamFromAnUnlinkedServerIsRefused) {
  v1::PropagateLocationsResponse response;
  const grpc::Status status = PropagateStream(
      *stub_, {Batch("Zed", {MakeLocation(kKiwi, "5")})}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("'Zed' is not a linked peer"));
  v1::GetLocationRequest request;
  request.set_client_id(kKiwi);
  v1::GetLocationResponse got;
  EXPECT_EQ(stub_->GetLocation(Context().get(), request, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(SingleNodeTest, StreamBatchesAreFloodedAndCounted) {
  v1::PropagateLocationsResponse response;
  const grpc::Status status = PropagateStream(
      *stub_,
      {Batch("B", {MakeLocation(kKiwi, "5"), MakeLocation("other", "1")}),
       Batch("B", {MakeLocation(kKiwi, "6")})},
      &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.updates_received(), 3u);
  EXPECT_TRUE(herd_.WaitForLocation("A", kKiwi, "6"));
  EXPECT_TRUE(herd_.WaitForLocation("A", "other", "1"));

  // A stream may not change whose it is.
  const grpc::Status changed =
      PropagateStream(*stub_,
                      {Batch("B", {MakeLocation(kKiwi, "7")}),
                       Batch("Zed", {MakeLocation(kKiwi, "8")})},
                      &response);
  EXPECT_EQ(changed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SingleNodeTest, PeerLocationsAreChecked) {
  v1::Location mismatched = MakeLocation(kKiwi, "5");
  mismatched.set_latitude(mismatched.latitude() + 1);
  v1::Location bad_time = MakeLocation(kKiwi, "5");
  bad_time.mutable_client_time()->set_seconds(6);
  v1::Location bad_id = MakeLocation("two words", "5");
  v1::Location bad_text = MakeLocation(kKiwi, "5");
  bad_text.set_coordinates_text("34-118");
  for (const v1::Location& location :
       {mismatched, bad_time, bad_id, bad_text}) {
    const grpc::Status status = Propagate(*stub_, "B", location);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << location.ShortDebugString();
  }
  v1::GetLocationRequest request;
  request.set_client_id(kKiwi);
  v1::GetLocationResponse response;
  EXPECT_EQ(
      stub_->GetLocation(Context().get(), request, &response).error_code(),
      grpc::StatusCode::NOT_FOUND);
}

TEST_F(SingleNodeTest, ReportLocationBuildsTheLocation) {
  v1::ReportLocationResponse response;
  ASSERT_TRUE(
      Report(kKiwi, kCoordinates, "1621464827.959498503", &response).ok());
  EXPECT_EQ(response.outcome(), v1::UPDATE_OUTCOME_ACCEPTED);
  const v1::Location& location = response.location();
  EXPECT_EQ(location.origin_server(), "A");
  EXPECT_EQ(location.client_time().seconds(), 1621464827);
  EXPECT_EQ(location.client_time().nanos(), 959498503);
  EXPECT_DOUBLE_EQ(location.latitude(), 34.068930);
  EXPECT_DOUBLE_EQ(location.longitude(), -118.445127);
  EXPECT_GT(location.server_time().seconds(), 1621464827);

  ASSERT_TRUE(
      Report(kKiwi, kCoordinates, "1621464827.959498503", &response).ok());
  EXPECT_EQ(response.outcome(), v1::UPDATE_OUTCOME_DUPLICATE);
  ASSERT_TRUE(Report(kKiwi, kCoordinates, "1621464827", &response).ok());
  EXPECT_EQ(response.outcome(), v1::UPDATE_OUTCOME_STALE);
}

TEST_F(SingleNodeTest, ReportLocationUsesReceivedAt) {
  v1::ReportLocationRequest request;
  request.set_client_id(kKiwi);
  request.set_coordinates_text(kCoordinates);
  request.set_client_time_text("1621464827.959498503");
  request.mutable_received_at()->set_seconds(1621464828);
  request.mutable_received_at()->set_nanos(223371889);
  v1::ReportLocationResponse response;
  ASSERT_TRUE(stub_->ReportLocation(Context().get(), request, &response).ok());
  EXPECT_EQ(FormatTimeDifference(response.location().server_time(),
                                 response.location().client_time()),
            "+0.263873386");
}

TEST_F(SingleNodeTest, ReportLocationRejectsBadFields) {
  const struct {
    const char* client;
    const char* coordinates;
    const char* time;
    const char* complaint;
  } cases[] = {
      {"", kCoordinates, "1", "client ID is empty"},
      {"a b", kCoordinates, "1", "whitespace"},
      {kKiwi, "34.0-118.0", "1", "coordinates"},
      {kKiwi, "+90.0000001+0", "1", "latitude"},
      {kKiwi, kCoordinates, "1.", "time stamp"},
      {kKiwi, kCoordinates, "1e9", "time stamp"},
  };
  for (const auto& c : cases) {
    v1::ReportLocationResponse response;
    const grpc::Status status =
        Report(c.client, c.coordinates, c.time, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.client << " " << c.coordinates << " " << c.time;
    EXPECT_THAT(status.error_message(), HasSubstr(c.complaint));
  }
}

v1::LocationReport Entry(uint64_t id, const std::string& client,
                         const std::string& coordinates,
                         const std::string& time) {
  v1::LocationReport entry;
  entry.set_request_id(id);
  entry.mutable_report()->set_client_id(client);
  entry.mutable_report()->set_coordinates_text(coordinates);
  entry.mutable_report()->set_client_time_text(time);
  entry.mutable_report()->mutable_received_at()->set_seconds(1621464828);
  entry.mutable_report()->mutable_received_at()->set_nanos(223371889);
  return entry;
}

v1::ReportLocationsRequest Reports(
    const std::vector<v1::LocationReport>& entries) {
  v1::ReportLocationsRequest request;
  for (const v1::LocationReport& entry : entries) {
    *request.add_reports() = entry;
  }
  return request;
}

using ReportStream = grpc::ClientReaderWriter<v1::ReportLocationsRequest,
                                              v1::ReportLocationsResponse>;

TEST_F(SingleNodeTest, ReportLocationsAnswersEveryReportInOrder) {
  auto context = Context();
  std::unique_ptr<ReportStream> stream = stub_->ReportLocations(context.get());
  ASSERT_TRUE(stream->Write(Reports({
      Entry(10, kKiwi, kCoordinates, "1621464827.959498503"),
      Entry(11, "lime", "+1-1", "7"),
      // Same message, same client: taken in order, so a duplicate.
      Entry(12, kKiwi, kCoordinates, "1621464827.959498503"),
  })));
  ASSERT_TRUE(stream->Write(Reports({
      Entry(13, kKiwi, kCoordinates, "1621464827"),
      Entry(14, kKiwi, "34.0-118.0", "1"),
      Entry(15, "a b", kCoordinates, "1"),
      Entry(16, "lime", "+2-2", "8"),
  })));

  v1::ReportLocationsResponse first;
  ASSERT_TRUE(stream->Read(&first));
  ASSERT_EQ(first.results_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(first.results(i).request_id(), 10u + i);
    EXPECT_EQ(first.results(i).code(), 0) << first.results(i).error_message();
  }
  EXPECT_EQ(first.results(0).response().outcome(), v1::UPDATE_OUTCOME_ACCEPTED);
  EXPECT_EQ(first.results(1).response().outcome(), v1::UPDATE_OUTCOME_ACCEPTED);
  EXPECT_EQ(first.results(2).response().outcome(),
            v1::UPDATE_OUTCOME_DUPLICATE);
  // Exactly what the unary call makes of the same report.
  v1::ReportLocationRequest same =
      Entry(0, "kiwi.again", kCoordinates, "1621464827.959498503").report();
  v1::ReportLocationResponse unary;
  ASSERT_TRUE(stub_->ReportLocation(Context().get(), same, &unary).ok());
  v1::Location streamed = first.results(0).response().location();
  streamed.set_client_id("kiwi.again");
  EXPECT_EQ(streamed.SerializeAsString(), unary.location().SerializeAsString())
      << streamed.ShortDebugString() << " vs "
      << unary.location().ShortDebugString();
  EXPECT_EQ(
      FormatTimeDifference(streamed.server_time(), streamed.client_time()),
      "+0.263873386");

  v1::ReportLocationsResponse second;
  ASSERT_TRUE(stream->Read(&second));
  ASSERT_EQ(second.results_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(second.results(i).request_id(), 13u + i);
  }
  EXPECT_EQ(second.results(0).response().outcome(), v1::UPDATE_OUTCOME_STALE);
  // A refused report is answered with why; its neighbours are not affected.
  EXPECT_EQ(second.results(1).code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(second.results(1).error_message(), HasSubstr("coordinates"));
  EXPECT_FALSE(second.results(1).has_response());
  EXPECT_EQ(second.results(2).code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(second.results(2).error_message(), HasSubstr("whitespace"));
  EXPECT_EQ(second.results(3).code(), 0);
  EXPECT_EQ(second.results(3).response().outcome(),
            v1::UPDATE_OUTCOME_ACCEPTED);

  ASSERT_TRUE(stream->WritesDone());
  v1::ReportLocationsResponse extra;
  EXPECT_FALSE(stream->Read(&extra));
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(herd_.WaitForLocation("A", kKiwi, "1621464827.959498503"));
  EXPECT_TRUE(herd_.WaitForLocation("A", "lime", "8"));
}

TEST_F(SingleNodeTest, ReportLocationsCancelledMidwayKeepsWhatItAnswered) {
  constexpr int kClients = 50;
  {
    auto context = Context();
    std::unique_ptr<ReportStream> stream =
        stub_->ReportLocations(context.get());
    std::vector<v1::LocationReport> entries;
    entries.reserve(kClients);
    for (int i = 0; i < kClients; ++i) {
      entries.push_back(
          Entry(i, "acked" + std::to_string(i), kCoordinates, "100"));
    }
    ASSERT_TRUE(stream->Write(Reports(entries)));
    v1::ReportLocationsResponse answered;
    ASSERT_TRUE(stream->Read(&answered));
    ASSERT_EQ(answered.results_size(), kClients);
    // The next message may or may not get in before the stream is gone.
    stream->Write(Reports({Entry(kClients, "maybe", kCoordinates, "100")}));
    context->TryCancel();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // Everything acknowledged is there, and the node takes new streams.
  for (int i = 0; i < kClients; ++i) {
    EXPECT_TRUE(herd_.WaitForLocation("A", "acked" + std::to_string(i), "100"));
  }
  auto context = Context();
  std::unique_ptr<ReportStream> stream = stub_->ReportLocations(context.get());
  ASSERT_TRUE(stream->Write(Reports({Entry(1, "fresh", kCoordinates, "1")})));
  v1::ReportLocationsResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).response().outcome(),
            v1::UPDATE_OUTCOME_ACCEPTED);
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
}

bool Holds(v1::HerdNode::Stub& stub, const std::string& client) {
  v1::GetLocationRequest request;
  request.set_client_id(client);
  v1::GetLocationResponse response;
  return stub.GetLocation(Context().get(), request, &response).ok();
}

// The seconds of the node's clock now plus offset, as a time stamp.
std::string SecondsFromNow(int64_t offset) {
  return std::to_string(WallClockNow().seconds() + offset);
}

// A refused update changes nothing: not the store, not the counters of
// accepted updates, and the error names the limit without echoing the ID.
TEST_F(SingleNodeTest, ClientIdsAreBoundedOnEveryWayIn) {
  const std::string longest(kMaxClientIdBytes, 'k');
  const std::string too_long(kMaxClientIdBytes + 1, 'k');
  const std::string huge(size_t{1} << 20, 'h');  // was "not loggable" only
  v1::ReportLocationResponse response;
  ASSERT_TRUE(Report(longest, kCoordinates, "1", &response).ok());
  EXPECT_EQ(response.outcome(), v1::UPDATE_OUTCOME_ACCEPTED);
  const uint64_t accepted = Status(*stub_).updates_accepted();

  for (const std::string* id : {&too_long, &huge}) {
    const grpc::Status status = Report(*id, kCoordinates, "1", &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(),
                HasSubstr(absl::StrCat("is longer than ", kMaxClientIdBytes,
                                       " bytes")));
    EXPECT_THAT(status.error_message(),
                HasSubstr(absl::StrCat("...' (", id->size(), " bytes)")));
    EXPECT_LT(status.error_message().size(), 256u);
    EXPECT_EQ(Propagate(*stub_, "B", MakeLocation(*id, "1")).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_FALSE(Holds(*stub_, *id));
  }

  auto context = Context();
  std::unique_ptr<ReportStream> stream = stub_->ReportLocations(context.get());
  if (!stream->Write(Reports({Entry(1, huge, kCoordinates, "1")}))) {
    FAIL() << stream->Finish().error_message();
  }
  v1::ReportLocationsResponse answer;
  ASSERT_TRUE(stream->Read(&answer));
  ASSERT_EQ(answer.results_size(), 1);
  EXPECT_EQ(answer.results(0).code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(answer.results(0).error_message(), HasSubstr("is longer than"));
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());

  EXPECT_FALSE(Holds(*stub_, huge));
  EXPECT_EQ(Status(*stub_).updates_accepted(), accepted);
}

// Fields other than the ID can make a location too big for one journal
// record: refused before the store sees it, from clients and peers alike.
TEST_F(SingleNodeTest, UnloggableLocationsAreRefusedBeforeTheStore) {
  const std::string long_coordinates =
      "+34." + std::string(kMaxRecordPayload, '0') + "-118";
  v1::ReportLocationResponse response;
  grpc::Status status = Report("long.coords", long_coordinates, "1", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("not loggable"));
  EXPECT_LT(status.error_message().size(), 256u);

  v1::Location peer = MakeLocation("long.coords", "1", long_coordinates);
  status = Propagate(*stub_, "B", peer);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("not loggable"));
  peer = MakeLocation("long.origin", "1");
  peer.set_origin_server(std::string(kMaxRecordPayload, 'o'));
  EXPECT_EQ(Propagate(*stub_, "B", peer).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_FALSE(Holds(*stub_, "long.coords"));
  EXPECT_FALSE(Holds(*stub_, "long.origin"));
  EXPECT_EQ(Status(*stub_).updates_received(), 0u);
}

// A time stamp far ahead would freeze the client (the newest wins), so
// reports are bounded where they enter the herd; peers' updates are not, so
// that every server applies what one accepted.
TEST_F(SingleNodeTest, ClientTimeFarAheadIsRefusedOnlyWhereReportsEnter) {
  const std::string ahead =
      SecondsFromNow(kDefaultMaxClientTimeAheadSeconds + 3600);
  v1::ReportLocationResponse response;
  grpc::Status status = Report("victim", "+2+2", ahead, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(
      status.error_message(),
      HasSubstr(absl::StrCat("more than ", kDefaultMaxClientTimeAheadSeconds,
                             " seconds ahead")));
  status = Report("victim", "+2+2", "9999999999.999999999", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  auto context = Context();
  std::unique_ptr<ReportStream> stream = stub_->ReportLocations(context.get());
  ASSERT_TRUE(stream->Write(Reports({Entry(1, "victim", "+2+2", ahead)})));
  v1::ReportLocationsResponse answer;
  ASSERT_TRUE(stream->Read(&answer));
  ASSERT_EQ(answer.results_size(), 1);
  EXPECT_EQ(answer.results(0).code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_FALSE(Holds(*stub_, "victim"));

  // A clock a little ahead is fine, and a later real report still wins.
  const std::string slightly_ahead = SecondsFromNow(60);
  ASSERT_TRUE(Report("victim", "+2+2", slightly_ahead, &response).ok());
  EXPECT_EQ(response.outcome(), v1::UPDATE_OUTCOME_ACCEPTED);

  v1::UpdateOutcome outcome{};
  ASSERT_TRUE(
      Propagate(*stub_, "B", MakeLocation("flooded", ahead), &outcome).ok());
  EXPECT_EQ(outcome, v1::UPDATE_OUTCOME_ACCEPTED);
}

TEST_F(SingleNodeTest, GetLocationOfUnknownClient) {
  v1::GetLocationRequest request;
  request.set_client_id("nobody");
  v1::GetLocationResponse response;
  const grpc::Status status =
      stub_->GetLocation(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(),
            "no server of the herd has heard of client 'nobody'");
}

TEST_F(SingleNodeTest, FindNearbyPlacesChecksArgumentsFirst) {
  v1::ReportLocationResponse reported;
  ASSERT_TRUE(Report(kKiwi, kCoordinates, "1", &reported).ok());
  const struct {
    double radius;
    uint32_t max_results;
  } bad[] = {{0, 5},  {-1, 5}, {50.001, 5}, {std::nan(""), 5},
             {10, 0}, {10, 21}};
  for (const auto& c : bad) {
    v1::FindNearbyPlacesRequest request;
    request.set_client_id(kKiwi);
    request.set_radius_km(c.radius);
    request.set_max_results(c.max_results);
    v1::FindNearbyPlacesResponse response;
    EXPECT_EQ(stub_->FindNearbyPlaces(Context().get(), request, &response)
                  .error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << c.radius << " " << c.max_results;
  }
  v1::FindNearbyPlacesRequest request;
  request.set_client_id("nobody");
  request.set_radius_km(50);
  request.set_max_results(20);
  v1::FindNearbyPlacesResponse response;
  EXPECT_EQ(
      stub_->FindNearbyPlaces(Context().get(), request, &response).error_code(),
      grpc::StatusCode::NOT_FOUND);
  request.set_client_id(kKiwi);
  const grpc::Status status =
      stub_->FindNearbyPlaces(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(status.error_message(), "no places provider configured");
}

// Answers from its own thread, as a real provider doing I/O would.
class FakePlaces : public PlacesProvider {
 public:
  void FindNearby(const NearbyQuery& query, Done done) override {
    threads_.emplace_back([query, done = std::move(done)]() mutable {
      if (query.radius_km > 40) {
        std::move(done)(absl::UnavailableError("places service down"));
        return;
      }
      std::vector<v1::Place> places;
      for (uint32_t i = 0; i < query.max_results; ++i) {
        v1::Place place;
        place.set_name("place " + std::to_string(i));
        place.set_latitude(query.latitude);
        place.set_longitude(query.longitude);
        places.push_back(place);
      }
      std::move(done)(std::move(places));
    });
  }

 private:
  std::vector<std::jthread> threads_;
};

class PlacesNodeTest : public SingleNodeTest {
 protected:
  PlacesNodeTest() { places_ = std::make_unique<FakePlaces>(); }
};

TEST_F(PlacesNodeTest, FindNearbyPlacesAsksTheProvider) {
  v1::ReportLocationResponse reported;
  ASSERT_TRUE(Report(kKiwi, kCoordinates, "1", &reported).ok());
  v1::FindNearbyPlacesRequest request;
  request.set_client_id(kKiwi);
  request.set_radius_km(10);
  request.set_max_results(3);
  v1::FindNearbyPlacesResponse response;
  ASSERT_TRUE(
      stub_->FindNearbyPlaces(Context().get(), request, &response).ok());
  EXPECT_EQ(response.location().client_id(), kKiwi);
  ASSERT_EQ(response.places_size(), 3);
  EXPECT_EQ(response.places(2).name(), "place 2");
  EXPECT_DOUBLE_EQ(response.places(0).latitude(), 34.068930);

  request.set_radius_km(45);
  const grpc::Status status =
      stub_->FindNearbyPlaces(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "places service down");
}

TEST_F(SingleNodeTest, SyncPagesByEpochAndSequence) {
  for (const char* client : {"a", "b", "c"}) {
    ASSERT_TRUE(Propagate(*stub_, "B", MakeLocation(client, "1")).ok());
  }
  v1::SyncRequest request;
  request.set_from_server("B");
  request.set_responder_epoch("not-the-epoch");
  request.set_after_seq(2);  // meaningless in another epoch: paged from 0
  request.set_max_entries(2);
  v1::SyncResponse response;
  ASSERT_TRUE(stub_->Sync(Context().get(), request, &response).ok());
  EXPECT_EQ(response.epoch(), herd_.node("A").epoch());
  ASSERT_EQ(response.entries_size(), 2);
  EXPECT_EQ(response.entries(0).location().client_id(), "a");
  EXPECT_TRUE(response.more());

  request.set_responder_epoch(response.epoch());
  request.set_after_seq(response.entries(1).seq());
  ASSERT_TRUE(stub_->Sync(Context().get(), request, &response).ok());
  ASSERT_EQ(response.entries_size(), 1);
  EXPECT_EQ(response.entries(0).location().client_id(), "c");
  EXPECT_FALSE(response.more());

  request.set_from_server("Zed");
  EXPECT_EQ(stub_->Sync(Context().get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(SingleNodeTest, StatusReportsCountersAndLinks) {
  ASSERT_TRUE(Propagate(*stub_, "B", MakeLocation("a", "2")).ok());
  ASSERT_TRUE(Propagate(*stub_, "B", MakeLocation("a", "1")).ok());
  ASSERT_TRUE(Propagate(*stub_, "B", MakeLocation("a", "2")).ok());
  const v1::GetStatusResponse status = Status(*stub_);
  EXPECT_EQ(status.name(), "A");
  EXPECT_EQ(status.epoch(), herd_.node("A").epoch());
  EXPECT_EQ(status.epoch().size(), 32u);
  EXPECT_EQ(status.clients(), 1u);
  EXPECT_EQ(status.updates_received(), 3u);
  EXPECT_EQ(status.updates_accepted(), 1u);
  EXPECT_EQ(status.updates_stale(), 1u);
  EXPECT_EQ(status.updates_duplicate(), 1u);
  ASSERT_EQ(status.peers_size(), 1);
  EXPECT_EQ(status.peers(0).name(), "B");
  EXPECT_EQ(status.peers(0).updates_received(), 3u);
  // B never started: the link cannot be up.
  EXPECT_NE(status.peers(0).state(), "UP");
}

TEST_F(SingleNodeTest, HealthSaysServing) {
  // No C++ stubs ship for grpc.health.v1, so speak it as bytes: the request
  // HealthCheckRequest{} is empty, the reply {status: SERVING} is 08 01.
  grpc::GenericStub stub(
      grpc::CreateChannel(herd_.config().servers(0).grpc_address(),
                          grpc::InsecureChannelCredentials()));
  grpc::Slice empty(std::string{});
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  // A herd::Mutex, not a std::promise: ThreadSanitizer sees its ordering
  // (libstdc++ sets a promise in uninstrumented code).
  Mutex mu;
  std::optional<grpc::Status> done;  // guarded by mu
  GrpcHandoff call;                  // mu is built before the callback runs
  auto context = Context();
  call.Release();
  stub.UnaryCall(context.get(), "/grpc.health.v1.Health/Check",
                 grpc::StubOptions(), &request, &response,
                 [&](const grpc::Status& status) {
                   call.Acquire();
                   MutexLock lock(&mu);
                   done = status;
                 });
  grpc::Status status;
  {
    MutexLock lock(&mu);
    // Bounded by the call's deadline.
    mu.Await([&] { return done.has_value(); });
    status = *done;
  }
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));
}

TEST(NodeStartTest, PortInUseIsNamed) {
  TestHerd herd({"A"}, {});
  // Occupy A's gRPC port with a listening socket.
  const std::string address = herd.config().servers(0).grpc_address();
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(static_cast<uint16_t>(port));
  // sockaddr_in is passed as the generic sockaddr the API takes.
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  const absl::Status status = herd.Start("A");
  ::close(fd);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(StatusMessage(status), HasSubstr(address));
}

TEST(NodeStartTest, UnknownServerIsNamed) {
  TestHerd herd({"A"}, {});
  const absl::Status status = herd.Start("Zed");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(StatusMessage(status), HasSubstr("'Zed'"));
}

}  // namespace
}  // namespace herd
