// What a reloaded herd file may change while a server runs, and what it
// changes in that server's links.
#include "herdnode/config_change.h"

#include <string>

#include "common/status_text.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace herd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Three servers, A linked to B and C.
constexpr char kRunning[] = R"pb(
  servers {
    name: "A"
    gateway_address: "127.0.0.1:1001"
    grpc_address: "127.0.0.1:2001"
    operator_address: "127.0.0.1:3001"
  }
  servers {
    name: "B"
    gateway_address: "127.0.0.1:1002"
    grpc_address: "127.0.0.1:2002"
  }
  servers {
    name: "C"
    gateway_address: "127.0.0.1:1003"
    grpc_address: "127.0.0.1:2003"
  }
  links { a: "A" b: "B" }
  links { a: "C" b: "A" }
  durability { data_directory: "data" }
)pb";

v1::HerdConfig Running() {
  v1::HerdConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kRunning, &config));
  return config;
}

v1::ServerConfig& Server(v1::HerdConfig& config, const std::string& name) {
  for (v1::ServerConfig& server : *config.mutable_servers()) {
    if (server.name() == name) return server;
  }
  ADD_FAILURE() << "no server " << name;
  return *config.mutable_servers(0);
}

std::string Refusal(const v1::HerdConfig& next) {
  const absl::Status status = CheckLiveChange(Running(), next, "A");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  return StatusMessage(status);
}

TEST(CheckLiveChangeTest, TheSameFileAndOtherServersChangesAreAllowed) {
  EXPECT_TRUE(CheckLiveChange(Running(), Running(), "A").ok());
  v1::HerdConfig next = Running();
  Server(next, "B").set_grpc_address("127.0.0.1:2102");
  next.mutable_links()->RemoveLast();
  next.mutable_gateway_limits()->set_max_line_bytes(128);
  Server(next, "A").add_trusted_peer_addresses("127.0.0.9");
  EXPECT_TRUE(CheckLiveChange(Running(), next, "A").ok());
}

TEST(CheckLiveChangeTest, OwnListenAddressesCannotChange) {
  v1::HerdConfig next = Running();
  Server(next, "A").set_grpc_address("127.0.0.1:2101");
  Server(next, "A").clear_operator_address();
  Server(next, "A").set_http_address("127.0.0.1:4001");
  const std::string refusal = Refusal(next);
  EXPECT_THAT(refusal, HasSubstr("servers[A].grpc_address \"127.0.0.1:2001\" "
                                 "-> \"127.0.0.1:2101\""));
  EXPECT_THAT(refusal,
              HasSubstr("servers[A].operator_address \"127.0.0.1:3001\" -> "
                        "(none)"));
  EXPECT_THAT(refusal, HasSubstr("servers[A].http_address (none) -> "));
  EXPECT_THAT(refusal, HasSubstr("nothing was changed"));
}

TEST(CheckLiveChangeTest, SectionsReadAtStartCannotChange) {
  v1::HerdConfig next = Running();
  next.mutable_durability()->set_data_directory("elsewhere");
  next.mutable_tls()->set_ca_cert_path("ca.crt");
  next.set_log_directory("logs2");
  next.set_max_client_time_ahead_seconds(60);
  const std::string refusal = Refusal(next);
  EXPECT_THAT(refusal, HasSubstr("durability"));
  EXPECT_THAT(refusal, HasSubstr("tls"));
  EXPECT_THAT(refusal, HasSubstr("log_directory (none) -> \"logs2\""));
  EXPECT_THAT(refusal, HasSubstr("max_client_time_ahead_seconds 300 -> 60"));
}

TEST(CheckLiveChangeTest, AFileWithoutThisServerIsRefused) {
  v1::HerdConfig next = Running();
  next.mutable_servers()->DeleteSubrange(0, 1);
  EXPECT_THAT(Refusal(next), HasSubstr("no server 'A' (this one)"));
}

TEST(LinksChangedTest, AddedRemovedAndMovedPeers) {
  v1::HerdConfig next = Running();
  EXPECT_THAT(LinksChanged(Running(), next, "A").added, IsEmpty());
  EXPECT_THAT(LinksChanged(Running(), next, "A").removed, IsEmpty());

  // C no longer linked to A; B and C linked; B linked to A as before.
  next.mutable_links()->RemoveLast();
  v1::Link* link = next.add_links();
  link->set_a("B");
  link->set_b("C");
  LinkChange change = LinksChanged(Running(), next, "A");
  EXPECT_THAT(change.added, IsEmpty());
  EXPECT_THAT(change.removed, ElementsAre("C"));
  change = LinksChanged(Running(), next, "B");
  EXPECT_THAT(change.added, ElementsAre("C"));
  EXPECT_THAT(change.removed, IsEmpty());

  // B moved: A's link to it is made anew.
  next = Running();
  Server(next, "B").set_grpc_address("127.0.0.1:2102");
  change = LinksChanged(Running(), next, "A");
  EXPECT_THAT(change.added, ElementsAre("B"));
  EXPECT_THAT(change.removed, ElementsAre("B"));
}

}  // namespace
}  // namespace herd
