// The status page's parts: the recent-updates ring, the snapshot of a node,
// its JSON, and the page's routes served over a real loopback socket.
#include "herdnode/ops/status/status_page.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "herdnode/mesh/peer_link.h"
#include "herdnode/ops/http_listener.h"
#include "herdnode/ops/status/recent_updates.h"
#include "herdnode/ops/status/status_json.h"
#include "herdnode/ops/status/status_snapshot.h"
#include "herdnode/store/flooding.h"
#include "herdnode/store/location_store.h"
#include "http_exchange.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/spdlog.h"
#include "test_location.h"

namespace herd {
namespace {

using ::herd::testing::HttpExchange;
using ::herd::testing::HttpGet;
using ::herd::testing::MakeLocation;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Three servers in a line: Alpha - Beta - Gamma.
v1::HerdConfig ThreeServers() {
  v1::HerdConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        servers {
          name: "Alpha"
          gateway_address: "127.0.0.1:1"
          tls_gateway_address: "127.0.0.1:10"
          grpc_address: "127.0.0.1:2"
          http_address: "127.0.0.1:3"
        }
        servers {
          name: "Beta"
          gateway_address: "127.0.0.1:4"
          grpc_address: "127.0.0.1:5"
        }
        servers {
          name: "Gamma"
          gateway_address: "127.0.0.1:7"
          grpc_address: "127.0.0.1:8"
        }
        links { a: "Alpha" b: "Beta" }
        links { a: "Beta" b: "Gamma" }
        tls { key_path: "secret/{name}.key" }
      )pb",
      &config));
  return config;
}

std::vector<std::string> Ids(const std::vector<v1::Location>& locations) {
  std::vector<std::string> ids;
  ids.reserve(locations.size());
  for (const v1::Location& location : locations) {
    ids.push_back(location.client_id());
  }
  return ids;
}

TEST(RecentUpdatesTest, KeepsTheNewestUpToItsCapacityNewestFirst) {
  RecentUpdates recent(3);
  EXPECT_TRUE(recent.NewestFirst().empty());
  for (const char* id : {"a", "b", "c", "d", "e"}) {
    recent.Send(MakeLocation(id, "1621464827.5"));
  }
  const std::vector<RecentUpdate> updates = recent.NewestFirst();
  ASSERT_EQ(updates.size(), 3u);
  EXPECT_EQ(updates[0].location.client_id(), "e");
  EXPECT_EQ(updates[0].number, 5u);
  EXPECT_EQ(updates[2].location.client_id(), "c");
  EXPECT_EQ(updates[2].number, 3u);
  EXPECT_LE(updates[2].accepted_at, updates[0].accepted_at);
}

TEST(RecentUpdatesTest, SeesOnlyWhatTheFlooderAccepts) {
  LocationStore store;
  Flooder flooder(store);
  auto recent = std::make_shared<RecentUpdates>();
  flooder.SetPeers({recent});
  flooder.Flood(MakeLocation("kiwi", "1621464827.2"), "");
  flooder.Flood(MakeLocation("kiwi", "1621464827.1"), "");  // stale
  flooder.Flood(MakeLocation("kiwi", "1621464827.2"), "");  // duplicate
  // Even an update that came from a peer reaches it.
  flooder.Flood(MakeLocation("kiwi", "1621464827.3"), "Beta");
  const std::vector<RecentUpdate> updates = recent->NewestFirst();
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[0].location.client_time_text(), "1621464827.3");
  EXPECT_EQ(updates[1].location.client_time_text(), "1621464827.2");
}

TEST(NewestClientsTest, AllClientsWhenTheyFitNewestFirst) {
  LocationStore store;
  store.Offer(MakeLocation("a", "1.0"));
  store.Offer(MakeLocation("b", "1.0"));
  store.Offer(MakeLocation("c", "1.0"));
  // a moves: it is now the most recently accepted.
  store.Offer(MakeLocation("a", "2.0"));
  EXPECT_THAT(Ids(NewestClients(store, 10)), ElementsAre("a", "c", "b"));
  EXPECT_THAT(Ids(NewestClients(store, 3)), ElementsAre("a", "c", "b"));
  EXPECT_TRUE(NewestClients(store, 0).empty());
}

TEST(NewestClientsTest, TheMostRecentlyAcceptedWhenTheyDoNot) {
  LocationStore store;
  for (int i = 0; i < 20; ++i) {
    store.Offer(MakeLocation("c" + std::to_string(i), "1.0"));
  }
  store.Offer(MakeLocation("c3", "2.0"));
  EXPECT_THAT(Ids(NewestClients(store, 4)),
              ElementsAre("c3", "c19", "c18", "c17"));
}

TEST(TakeStatusSnapshotTest, GathersEverySourceAndOnlyServersAndLinks) {
  const v1::HerdConfig config = ThreeServers();
  LocationStore store;
  Flooder flooder(store);
  auto recent = std::make_shared<RecentUpdates>(2);
  flooder.SetPeers({recent});
  for (const char* id : {"x", "y", "z"}) {
    flooder.Flood(MakeLocation(id, "1621464827.5"), "");
  }
  // Never started: DOWN, with nothing sent.
  PeerLinkOptions options;
  options.self_name = "Beta";
  options.peer_name = "Gamma";
  options.peer_address = "127.0.0.1:8";
  auto log = std::make_shared<spdlog::logger>(
      "status_test", std::make_shared<spdlog::sinks::null_sink_mt>());
  GrpcPollers pollers(1, nullptr);  // never polled: the link never starts
  LinkSet links;
  links.Set({std::make_shared<PeerLink>(options, flooder, log, pollers)});

  StatusSources sources;
  sources.config = [&config] {
    return std::make_shared<const v1::HerdConfig>(config);
  };
  sources.node = "Beta";
  sources.epoch = "e1";
  sources.store = &store;
  sources.flooder = &flooder;
  sources.links = &links;
  sources.recent = recent.get();
  const StatusSnapshot snapshot = TakeStatusSnapshot(sources, 2);
  EXPECT_EQ(snapshot.node, "Beta");
  EXPECT_EQ(snapshot.servers.size(), 3u);
  EXPECT_EQ(snapshot.links.size(), 2u);
  ASSERT_EQ(snapshot.peers.size(), 1u);
  EXPECT_EQ(snapshot.peers[0].name(), "Gamma");
  EXPECT_EQ(snapshot.peers[0].state(), "DOWN");
  EXPECT_EQ(snapshot.floods.accepted, 3u);
  EXPECT_EQ(snapshot.clients_total, 3u);
  EXPECT_EQ(snapshot.clients_limit, 2u);
  EXPECT_THAT(Ids(snapshot.clients), ElementsAre("z", "y"));
  ASSERT_EQ(snapshot.recent.size(), 2u);
  EXPECT_EQ(snapshot.recent_limit, 2u);

  const json status = StatusJson(snapshot);
  EXPECT_EQ(status["links"][1]["state"], "DOWN");
  // The herd file's other sections (key paths) stay off the page.
  EXPECT_THAT(status.dump(), ::testing::Not(HasSubstr("secret")));
}

StatusSnapshot AlphaSnapshot() {
  StatusSnapshot snapshot;
  snapshot.node = "Alpha";
  snapshot.epoch = "epoch-1";
  snapshot.now = absl::FromUnixMillis(1700000000123);
  const v1::HerdConfig config = ThreeServers();
  snapshot.servers.assign(config.servers().begin(), config.servers().end());
  snapshot.links.assign(config.links().begin(), config.links().end());
  v1::PeerStatus beta;
  beta.set_name("Beta");
  beta.set_state("SYNCING");
  beta.set_updates_sent(11);
  beta.set_updates_received(12);
  beta.set_sync_entries_received(13);
  beta.set_reconnects(2);
  snapshot.peers.push_back(beta);
  snapshot.floods = {.received = 9, .accepted = 7, .stale = 1, .duplicate = 1};
  snapshot.clients_total = 5;
  snapshot.clients_limit = 2;
  snapshot.clients = {
      MakeLocation("kiwi", "1621464827.959498503", "+34.068930-118.445127",
                   "Gamma"),
      MakeLocation("emu", "1621464828", "-33.8688+151.2093", "Alpha")};
  snapshot.recent_limit = 50;
  snapshot.recent.push_back(
      RecentUpdate{snapshot.clients[1], absl::FromUnixSeconds(1700000000), 8});
  return snapshot;
}

TEST(StatusJsonTest, NodeServersAndLinksWithThisNodesLinkStates) {
  const json status = StatusJson(AlphaSnapshot());
  EXPECT_EQ(status["node"], "Alpha");
  EXPECT_EQ(status["epoch"], "epoch-1");
  EXPECT_EQ(status["time"], "2023-11-14T22:13:20.123+00:00");
  EXPECT_EQ(status["time_unix_ms"], 1700000000123);
  ASSERT_EQ(status["servers"].size(), 3u);
  EXPECT_EQ(status["servers"][0], json({{"name", "Alpha"},
                                        {"gateway_address", "127.0.0.1:1"},
                                        {"tls_gateway_address", "127.0.0.1:10"},
                                        {"http_address", "127.0.0.1:3"},
                                        {"self", true}}));
  EXPECT_EQ(status["servers"][1]["self"], false);
  ASSERT_EQ(status["links"].size(), 2u);
  EXPECT_EQ(status["links"][0], json({{"a", "Alpha"},
                                      {"b", "Beta"},
                                      {"own", true},
                                      {"peer", "Beta"},
                                      {"state", "SYNCING"},
                                      {"updates_sent", 11},
                                      {"updates_received", 12},
                                      {"sync_entries_received", 13},
                                      {"reconnects", 2}}));
  // Beta - Gamma is not Alpha's link: Alpha cannot know its state.
  EXPECT_EQ(status["links"][1],
            json({{"a", "Beta"}, {"b", "Gamma"}, {"own", false}}));
  EXPECT_EQ(
      status["counters"],
      json({{"received", 9}, {"accepted", 7}, {"stale", 1}, {"duplicate", 1}}));
}

TEST(StatusJsonTest, ClientsSayHowManyAreLeftOut) {
  const json status = StatusJson(AlphaSnapshot());
  const json& clients = status["clients"];
  EXPECT_EQ(clients["total"], 5);
  EXPECT_EQ(clients["shown"], 2);
  EXPECT_EQ(clients["limit"], 2);
  EXPECT_EQ(clients["truncated"], true);
  ASSERT_EQ(clients["list"].size(), 2u);
  EXPECT_EQ(clients["list"][0]["id"], "kiwi");
  EXPECT_DOUBLE_EQ(clients["list"][0]["lat"].get<double>(), 34.068930);
  EXPECT_DOUBLE_EQ(clients["list"][0]["lon"].get<double>(), -118.445127);
  EXPECT_EQ(clients["list"][0]["coordinates"], "+34.068930-118.445127");
  EXPECT_EQ(clients["list"][0]["origin"], "Gamma");
  EXPECT_EQ(clients["list"][0]["client_time"], "1621464827.959498503");

  StatusSnapshot all = AlphaSnapshot();
  all.clients_total = 2;
  EXPECT_EQ(StatusJson(all)["clients"]["truncated"], false);
}

TEST(StatusJsonTest, RecentUpdatesNewestFirstWithWhenAccepted) {
  const json recent = StatusJson(AlphaSnapshot())["recent_updates"];
  EXPECT_EQ(recent["limit"], 50);
  ASSERT_EQ(recent["list"].size(), 1u);
  EXPECT_EQ(recent["list"][0]["id"], "emu");
  EXPECT_EQ(recent["list"][0]["origin"], "Alpha");
  EXPECT_EQ(recent["list"][0]["accepted_at"], "2023-11-14T22:13:20+00:00");
  EXPECT_EQ(recent["list"][0]["number"], 8);
}

TEST(StatusJsonTest, OwnLinkWithoutStatusIsUnknown) {
  StatusSnapshot snapshot = AlphaSnapshot();
  snapshot.peers.clear();
  const json link = StatusJson(snapshot)["links"][0];
  EXPECT_EQ(link["state"], "UNKNOWN");
  EXPECT_FALSE(link.contains("updates_sent"));
}

// The body of an HTTP response (after the blank line).
std::string Body(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

TEST(StatusPageRoutesTest, ServesThePageItsDataAndTheMapAndNothingElse) {
  auto log = std::make_shared<spdlog::logger>(
      "status_http_test", std::make_shared<spdlog::sinks::null_sink_mt>());
  // Counted on the listener's thread, read here.
  std::atomic<int> snapshots = 0;
  HttpRoutes routes;
  AddStatusPageRoutes(
      [&snapshots] {
        ++snapshots;
        return AlphaSnapshot();
      },
      routes);
  absl::StatusOr<std::unique_ptr<HttpListener>> listener =
      HttpListener::Start("127.0.0.1:0", std::move(routes), log);
  ASSERT_TRUE(listener.ok()) << listener.status();
  const uint16_t port = (*listener)->BoundPort();

  const std::string page = HttpGet(port, "/");
  EXPECT_THAT(page, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(page, HasSubstr("Content-Type: text/html; charset=utf-8\r\n"));
  EXPECT_THAT(Body(page), HasSubstr("id=\"node-name\""));
  EXPECT_THAT(Body(page), HasSubstr("status.json"));
  EXPECT_EQ(snapshots, 0);  // the page itself is static

  const std::string data = HttpGet(port, "/status.json?t=1");
  EXPECT_THAT(data, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(data, HasSubstr("Content-Type: application/json\r\n"));
  EXPECT_EQ(json::parse(Body(data)), StatusJson(AlphaSnapshot()));
  EXPECT_EQ(snapshots, 1);  // read afresh for every request

  const json world = json::parse(Body(HttpGet(port, "/world.json")));
  EXPECT_EQ(world["width"], 360);
  EXPECT_EQ(world["height"], 180);
  // Land outlines in the page's coordinates: a path that starts with a move.
  EXPECT_GT(world["land"].get<std::string>().size(), 10000u);
  EXPECT_EQ(world["land"].get<std::string>().front(), 'M');
  EXPECT_THAT(world["source"].get<std::string>(), HasSubstr("Natural Earth"));

  EXPECT_THAT(HttpGet(port, "/index.html"),
              HasSubstr("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_THAT(HttpGet(port, "/status.json/"),
              HasSubstr("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_THAT(HttpExchange(port,
                           "POST /status.json HTTP/1.1\r\nHost: h\r\n"
                           "Connection: close\r\nContent-Length: 0\r\n\r\n"),
              HasSubstr("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(HttpExchange(port,
                           "DELETE / HTTP/1.1\r\nHost: h\r\n"
                           "Connection: close\r\n\r\n"),
              HasSubstr("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_EQ(snapshots, 1);
}

}  // namespace
}  // namespace herd
