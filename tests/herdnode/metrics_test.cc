// The node's metrics: exposition format, histogram buckets, the scrape-time
// collector, and the HTTP listener that serves them.
#include "herdnode/ops/metrics.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "herdnode/ops/http_listener.h"
#include "http_exchange.h"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/spdlog.h"

namespace herd {
namespace {

using ::herd::testing::HttpExchange;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(RequestCommandTest, LabelsByFirstWordOnly) {
  EXPECT_EQ(gateway::RequestCommand("IAMAT kiwi +1+2 3"), "IAMAT");
  EXPECT_EQ(gateway::RequestCommand("  WHATSAT kiwi 10 5"), "WHATSAT");
  EXPECT_EQ(gateway::RequestCommand("AT Hamilton +0.1 kiwi +1+2 3"), "AT");
  EXPECT_EQ(gateway::RequestCommand("ATX foo"), "invalid");
  EXPECT_EQ(gateway::RequestCommand("iamat kiwi"), "invalid");
  EXPECT_EQ(gateway::RequestCommand(""), "invalid");
  EXPECT_EQ(gateway::RequestCommand(" \t "), "invalid");
}

TEST(NodeMetricsTest, ExpositionHasHelpAndTypeForEveryFamily) {
  NodeMetrics metrics;
  const std::string text = metrics.Exposition();
  for (const char* family :
       {"herd_gateway_connections_total", "herd_gateway_connections_open",
        "herd_gateway_request_duration_seconds",
        "herd_places_request_duration_seconds", "herd_places_errors_total",
        "herd_watchers", "herd_watch_events_dropped_total"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# HELP ") + family + " "))
        << family;
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + family + " "))
        << family;
  }
  EXPECT_THAT(text, HasSubstr("# TYPE herd_gateway_connections_total counter"));
  EXPECT_THAT(text, HasSubstr("# TYPE herd_gateway_connections_open gauge"));
  EXPECT_THAT(
      text, HasSubstr("# TYPE herd_places_request_duration_seconds histogram"));
}

TEST(NodeMetricsTest, ConnectionsCountOpenAndTotal) {
  NodeMetrics metrics;
  metrics.OnConnectionOpened();
  metrics.OnConnectionOpened();
  metrics.OnConnectionClosed();
  const std::string text = metrics.Exposition();
  EXPECT_THAT(text, HasSubstr("\nherd_gateway_connections_total 2\n"));
  EXPECT_THAT(text, HasSubstr("\nherd_gateway_connections_open 1\n"));
}

TEST(NodeMetricsTest, HistogramBucketsAreCumulativeAndFixed) {
  NodeMetrics metrics;
  // 0.2 ms, 3 ms and 20 s (beyond the last bucket: only +Inf counts it).
  metrics.OnRequest("IAMAT", absl::Microseconds(200));
  metrics.OnRequest("IAMAT", absl::Milliseconds(3));
  metrics.OnRequest("IAMAT", absl::Seconds(20));
  const std::string text = metrics.Exposition();
  const std::string series =
      "herd_gateway_request_duration_seconds_bucket{command=\"IAMAT\",";
  EXPECT_THAT(text, HasSubstr(series + "le=\"0.0001\"} 0\n"));
  EXPECT_THAT(text, HasSubstr(series + "le=\"0.00025\"} 1\n"));
  EXPECT_THAT(text, HasSubstr(series + "le=\"0.0025\"} 1\n"));
  EXPECT_THAT(text, HasSubstr(series + "le=\"0.005\"} 2\n"));
  EXPECT_THAT(text, HasSubstr(series + "le=\"10\"} 2\n"));
  EXPECT_THAT(text, HasSubstr(series + "le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("herd_gateway_request_duration_seconds_count{"
                              "command=\"IAMAT\"} 3\n"));
  // Every command has its series from the start, and only its own samples.
  EXPECT_THAT(text, HasSubstr("herd_gateway_request_duration_seconds_count{"
                              "command=\"WHATSAT\"} 0\n"));
  const std::vector<double> buckets = LatencyBucketsSeconds();
  ASSERT_FALSE(buckets.empty());
  for (size_t i = 1; i < buckets.size(); ++i) {
    EXPECT_LT(buckets[i - 1], buckets[i]);
  }
}

TEST(NodeMetricsTest, UnknownCommandCountsAsInvalid) {
  NodeMetrics metrics;
  metrics.OnRequest("NOPE", absl::Milliseconds(1));
  EXPECT_THAT(metrics.Exposition(),
              HasSubstr("herd_gateway_request_duration_seconds_count{"
                        "command=\"invalid\"} 1\n"));
}

TEST(NodeMetricsTest, PlacesCallsCountErrors) {
  NodeMetrics metrics;
  metrics.OnPlacesCall(absl::Milliseconds(2), true);
  metrics.OnPlacesCall(absl::Milliseconds(2), false);
  const std::string text = metrics.Exposition();
  EXPECT_THAT(text, HasSubstr("\nherd_places_errors_total 1\n"));
  EXPECT_THAT(text,
              HasSubstr("\nherd_places_request_duration_seconds_count 2\n"));
}

TEST(NodeMetricsTest, PlacesCacheLookupsCountHitsAndMissesByProvider) {
  NodeMetrics metrics;
  PlacesCacheObserver& observer = metrics;
  observer.OnPlacesCacheLookup("google", false);
  observer.OnPlacesCacheLookup("google", true);
  observer.OnPlacesCacheLookup("google", true);
  const std::string text = metrics.Exposition();
  EXPECT_THAT(text, HasSubstr("# TYPE herd_places_cache_hits_total counter\n"));
  EXPECT_THAT(text,
              HasSubstr("\nherd_places_cache_hits_total{provider=\"google\"} "
                        "2\n"));
  EXPECT_THAT(
      text,
      HasSubstr("\nherd_places_cache_misses_total{provider=\"google\"} 1\n"));
}

TEST(NodeMetricsTest, CollectorReadsCountersAndLinksAtScrapeTime) {
  NodeMetrics metrics;
  FloodCounters floods{
      .received = 7, .accepted = 4, .stale = 2, .duplicate = 1};
  v1::PeerStatus parker;
  parker.set_name("Parker");
  parker.set_state("SYNCING");
  parker.set_updates_sent(5);
  parker.set_updates_received(6);
  parker.set_reconnects(2);
  parker.set_sync_entries_received(9);
  auto collector = std::make_shared<NodeStatusCollector>(
      [&floods] { return floods; },
      [&parker] { return std::vector<v1::PeerStatus>{parker}; },
      [] { return uint64_t{3}; });
  metrics.AddCollectable(collector);
  floods.accepted = 5;  // read at scrape time, not when added
  std::string text = metrics.Exposition();
  EXPECT_THAT(text, HasSubstr("\nherd_updates_received_total 7\n"));
  EXPECT_THAT(text, HasSubstr("\nherd_updates_accepted_total 5\n"));
  EXPECT_THAT(text, HasSubstr("\nherd_updates_stale_total 2\n"));
  EXPECT_THAT(text, HasSubstr("\nherd_updates_duplicate_total 1\n"));
  EXPECT_THAT(text, HasSubstr("\nherd_clients 3\n"));
  EXPECT_THAT(text,
              HasSubstr("herd_peer_floods_sent_total{peer=\"Parker\"} 5\n"));
  EXPECT_THAT(
      text, HasSubstr("herd_peer_floods_received_total{peer=\"Parker\"} 6\n"));
  EXPECT_THAT(text,
              HasSubstr("herd_peer_reconnects_total{peer=\"Parker\"} 2\n"));
  EXPECT_THAT(
      text, HasSubstr("herd_peer_catchup_entries_total{peer=\"Parker\"} 9\n"));
  EXPECT_THAT(text, HasSubstr("herd_peer_link_state{peer=\"Parker\",state="
                              "\"SYNCING\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("herd_peer_link_state{peer=\"Parker\",state="
                              "\"UP\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE herd_peer_link_state gauge\n"));
  // A collector whose owner is gone is skipped, not read.
  collector.reset();
  text = metrics.Exposition();
  EXPECT_THAT(text, Not(HasSubstr("herd_updates_received_total")));
}

TEST(HttpListenerTest, ServesRoutesAndRefusesTheRest) {
  auto log = std::make_shared<spdlog::logger>(
      "http_test", std::make_shared<spdlog::sinks::null_sink_mt>());
  HttpRoutes routes;
  routes["/metrics"] = [] {
    return HttpReply{"text/plain; version=0.0.4", "herd_up 1\n"};
  };
  absl::StatusOr<std::unique_ptr<HttpListener>> listener =
      HttpListener::Start("127.0.0.1:0", std::move(routes), log);
  ASSERT_TRUE(listener.ok()) << listener.status();
  const uint16_t port = (*listener)->BoundPort();
  ASSERT_NE(port, 0);

  std::string ok = HttpExchange(
      port,
      "GET /metrics?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(ok, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(ok, HasSubstr("Content-Type: text/plain; version=0.0.4\r\n"));
  EXPECT_THAT(ok, HasSubstr("\r\n\r\nherd_up 1\n"));

  EXPECT_THAT(HttpExchange(port,
                           "GET /nope HTTP/1.1\r\nHost: h\r\nConnection: "
                           "close\r\n\r\n"),
              HasSubstr("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_THAT(HttpExchange(port,
                           "POST /metrics HTTP/1.1\r\nHost: h\r\nConnection: "
                           "close\r\nContent-Length: 0\r\n\r\n"),
              HasSubstr("HTTP/1.1 405 Method Not Allowed\r\n"));
  // Not HTTP at all: closed without an answer, and the listener lives on.
  EXPECT_EQ(HttpExchange(port, "IAMAT kiwi +1+2 3\r\n\r\n"), "");
  EXPECT_THAT(HttpExchange(port, "GET /metrics HTTP/1.0\r\n\r\n"),
              HasSubstr("herd_up 1\n"));
  (*listener)->Stop();
  (*listener)->Stop();  // idempotent
}

TEST(HttpListenerTest, PortInUseIsAnErrorNamingTheAddress) {
  auto log = std::make_shared<spdlog::logger>(
      "http_test2", std::make_shared<spdlog::sinks::null_sink_mt>());
  auto first = HttpListener::Start("127.0.0.1:0", {}, log);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string address =
      "127.0.0.1:" + std::to_string((*first)->BoundPort());
  auto second = HttpListener::Start(address, {}, log);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(address));
  EXPECT_FALSE(HttpListener::Start("no-port-here", {}, log).ok());
}

}  // namespace
}  // namespace herd
