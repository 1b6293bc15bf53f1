#include "herdnode/ops/metrics.h"

#include <sstream>
#include <utility>

#include "prometheus/text_serializer.h"

namespace herd {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// The link states GetStatus reports (see LinkStateName).
constexpr std::array<std::string_view, 3> kLinkStates = {"UP", "SYNCING",
                                                         "DOWN"};

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

ClientMetric CounterValue(double value,
                          std::vector<ClientMetric::Label> label) {
  ClientMetric metric;
  metric.label = std::move(label);
  metric.counter.value = value;
  return metric;
}

ClientMetric GaugeValue(double value, std::vector<ClientMetric::Label> label) {
  ClientMetric metric;
  metric.label = std::move(label);
  metric.gauge.value = value;
  return metric;
}

}  // namespace

std::vector<double> LatencyBucketsSeconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

NodeMetrics::NodeMetrics()
    : connections_opened_(
          BuildCounter()
              .Name("herd_gateway_connections_total")
              .Help("Client connections the text gateway accepted.")
              .Register(registry_)
              .Add({})),
      connections_open_(BuildGauge()
                            .Name("herd_gateway_connections_open")
                            .Help("Client connections open on the text "
                                  "gateway now.")
                            .Register(registry_)
                            .Add({})),
      request_latency_(),
      places_latency_(
          BuildHistogram()
              .Name("herd_places_request_duration_seconds")
              .Help("Time the places provider took to answer, in seconds.")
              .Register(registry_)
              .Add({}, LatencyBucketsSeconds())),
      places_errors_(BuildCounter()
                         .Name("herd_places_errors_total")
                         .Help("Places provider calls that failed.")
                         .Register(registry_)
                         .Add({})),
      places_cache_hits_(BuildCounter()
                             .Name("herd_places_cache_hits_total")
                             .Help("Places queries answered from the "
                                   "provider's cache, by provider.")
                             .Register(registry_)),
      places_cache_misses_(BuildCounter()
                               .Name("herd_places_cache_misses_total")
                               .Help("Places queries the provider's cache "
                                     "could not answer, by provider.")
                               .Register(registry_)),
      watchers_(BuildGauge()
                    .Name("herd_watchers")
                    .Help("Watch streams open now.")
                    .Register(registry_)
                    .Add({})),
      watch_dropped_(BuildCounter()
                         .Name("herd_watch_events_dropped_total")
                         .Help("Location changes slow watchers missed "
                               "(their buffer was full).")
                         .Register(registry_)
                         .Add({})) {
  auto& latency =
      BuildHistogram()
          .Name("herd_gateway_request_duration_seconds")
          .Help("Time from a complete request line to its reply, by command.")
          .Register(registry_);
  // One series per command, made up front so requests never take the
  // family's lock.
  for (size_t i = 0; i < gateway::kRequestCommands.size(); ++i) {
    request_latency_[i] =
        &latency.Add({{"command", std::string(gateway::kRequestCommands[i])}},
                     LatencyBucketsSeconds());
  }
}

void NodeMetrics::OnConnectionOpened() {
  connections_opened_.Increment();
  connections_open_.Increment();
}

void NodeMetrics::OnConnectionClosed() { connections_open_.Decrement(); }

void NodeMetrics::OnRequest(std::string_view command, absl::Duration latency) {
  size_t index = gateway::kRequestCommands.size() - 1;  // "invalid"
  for (size_t i = 0; i < gateway::kRequestCommands.size(); ++i) {
    if (gateway::kRequestCommands[i] == command) index = i;
  }
  request_latency_[index]->Observe(absl::ToDoubleSeconds(latency));
}

void NodeMetrics::OnPlacesCall(absl::Duration latency, bool ok) {
  places_latency_.Observe(absl::ToDoubleSeconds(latency));
  if (!ok) places_errors_.Increment();
}

void NodeMetrics::OnPlacesCacheLookup(std::string_view provider, bool hit) {
  // Add returns the series already made for these labels (one per provider).
  (hit ? places_cache_hits_ : places_cache_misses_)
      .Add({{"provider", std::string(provider)}})
      .Increment();
}

void NodeMetrics::OnWatcherOpened() { watchers_.Increment(); }
void NodeMetrics::OnWatcherClosed() { watchers_.Decrement(); }
void NodeMetrics::OnWatchEventsDropped(uint64_t count) {
  watch_dropped_.Increment(static_cast<double>(count));
}

void NodeMetrics::AddCollectable(
    std::weak_ptr<prometheus::Collectable> collectable) {
  MutexLock lock(&mu_);
  collectables_.push_back(std::move(collectable));
}

std::string NodeMetrics::Exposition() const {
  std::vector<MetricFamily> families = registry_.Collect();
  std::vector<std::shared_ptr<prometheus::Collectable>> sources;
  {
    MutexLock lock(&mu_);
    for (const auto& weak : collectables_) {
      if (auto source = weak.lock()) sources.push_back(std::move(source));
    }
  }
  // Collected outside the lock: a source may take locks of its own.
  for (const auto& source : sources) {
    std::vector<MetricFamily> more = source->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

NodeStatusCollector::NodeStatusCollector(
    std::function<FloodCounters()> floods,
    std::function<std::vector<v1::PeerStatus>()> peers,
    std::function<uint64_t()> clients)
    : floods_(std::move(floods)),
      peers_(std::move(peers)),
      clients_(std::move(clients)) {}

std::vector<MetricFamily> NodeStatusCollector::Collect() const {
  std::vector<MetricFamily> families;
  const FloodCounters floods = floods_();
  const std::pair<const char*, uint64_t> outcomes[] = {
      {"received", floods.received},
      {"accepted", floods.accepted},
      {"stale", floods.stale},
      {"duplicate", floods.duplicate}};
  for (const auto& [what, value] : outcomes) {
    MetricFamily family =
        Family(std::string("herd_updates_") + what + "_total",
               std::string("Location updates this node ") +
                   (std::string_view(what) == "received"
                        ? "was given (clients, peers, catch-up)."
                        : "judged " + std::string(what) + "."),
               MetricType::Counter);
    family.metric.push_back(CounterValue(static_cast<double>(value), {}));
    families.push_back(std::move(family));
  }
  MetricFamily clients =
      Family("herd_clients", "Clients whose location this node holds.",
             MetricType::Gauge);
  clients.metric.push_back(GaugeValue(static_cast<double>(clients_()), {}));
  families.push_back(std::move(clients));

  MetricFamily sent =
      Family("herd_peer_floods_sent_total",
             "Location updates sent live to the peer.", MetricType::Counter);
  MetricFamily received =
      Family("herd_peer_floods_received_total",
             "Live location updates the peer sent here.", MetricType::Counter);
  MetricFamily reconnects =
      Family("herd_peer_reconnects_total",
             "Times the link to the peer came back after being down.",
             MetricType::Counter);
  MetricFamily catch_up = Family(
      "herd_peer_catchup_entries_total",
      "Entries pulled from the peer by catch-up (Sync).", MetricType::Counter);
  MetricFamily state = Family(
      "herd_peer_link_state",
      "1 for the link's current state (UP, SYNCING, DOWN), 0 for the others.",
      MetricType::Gauge);
  for (const v1::PeerStatus& peer : peers_()) {
    const std::vector<ClientMetric::Label> labels = {{"peer", peer.name()}};
    sent.metric.push_back(
        CounterValue(static_cast<double>(peer.updates_sent()), labels));
    received.metric.push_back(
        CounterValue(static_cast<double>(peer.updates_received()), labels));
    reconnects.metric.push_back(
        CounterValue(static_cast<double>(peer.reconnects()), labels));
    catch_up.metric.push_back(CounterValue(
        static_cast<double>(peer.sync_entries_received()), labels));
    for (std::string_view name : kLinkStates) {
      state.metric.push_back(
          GaugeValue(peer.state() == name ? 1 : 0,
                     {{"peer", peer.name()}, {"state", std::string(name)}}));
    }
  }
  for (MetricFamily* family :
       {&sent, &received, &reconnects, &catch_up, &state}) {
    families.push_back(std::move(*family));
  }
  return families;
}

}  // namespace herd
