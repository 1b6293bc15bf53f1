// The node's Prometheus metrics: one registry per node (prometheus-cpp, from
// Debian's prometheus-cpp-dev), rendered in the text exposition format 0.0.4
// for GET /metrics.
//
// Two kinds of sources feed it:
// - events recorded as they happen (gateway connections and request
//   latency, places provider calls, watchers), through the methods below;
// - counters the node already keeps (flooding outcomes, per-peer link
//   status), read at scrape time by a collector (see NodeStatusCollector),
//   so the hot flooding path pays nothing extra.
#ifndef HERD_HERDNODE_OPS_METRICS_H_
#define HERD_HERDNODE_OPS_METRICS_H_

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/mutex.h"
#include "gateway/gateway_observer.h"
#include "herd/v1/herd.pb.h"
#include "herdnode/places/places_provider.h"
#include "herdnode/store/flooding.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace herd {

// The fixed latency buckets (seconds) of every latency histogram: 100 us to
// 10 s, roughly x2.5 apart, so both an in-memory IAMAT and a slow places
// HTTP call land in a bucket of their own.
std::vector<double> LatencyBucketsSeconds();

// Thread-safe: every method may be called from any thread.
class NodeMetrics final : public gateway::GatewayObserver,
                          public PlacesCacheObserver {
 public:
  NodeMetrics();

  NodeMetrics(const NodeMetrics&) = delete;
  NodeMetrics& operator=(const NodeMetrics&) = delete;

  // Gateway (GatewayObserver).
  void OnConnectionOpened() override;
  void OnConnectionClosed() override;
  void OnRequest(std::string_view command, absl::Duration latency) override;

  // Places provider calls (see TimedPlacesProvider).
  void OnPlacesCall(absl::Duration latency, bool ok);
  // A places provider's cache lookups (PlacesCacheObserver), by provider.
  void OnPlacesCacheLookup(std::string_view provider, bool hit) override;

  // Watch streams: one opened or closed, events a slow watcher missed.
  void OnWatcherOpened();
  void OnWatcherClosed();
  void OnWatchEventsDropped(uint64_t count);

  // Adds a source read at every scrape. It is dropped once it expires, so
  // its owner may go away first.
  void AddCollectable(std::weak_ptr<prometheus::Collectable> collectable);

  // Everything, in the Prometheus text format 0.0.4 (HELP and TYPE lines).
  std::string Exposition() const;

 private:
  prometheus::Registry registry_;
  prometheus::Counter& connections_opened_;
  prometheus::Gauge& connections_open_;
  std::array<prometheus::Histogram*, gateway::kRequestCommands.size()>
      request_latency_;
  prometheus::Histogram& places_latency_;
  prometheus::Counter& places_errors_;
  prometheus::Family<prometheus::Counter>& places_cache_hits_;
  prometheus::Family<prometheus::Counter>& places_cache_misses_;
  prometheus::Gauge& watchers_;
  prometheus::Counter& watch_dropped_;

  mutable Mutex mu_;
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables_
      ABSL_GUARDED_BY(mu_);
};

// Reads the flooding counters and each link's status at scrape time:
// herd_updates_{received,accepted,stale,duplicate}_total, and per peer
// herd_peer_floods_{sent,received}_total, herd_peer_reconnects_total,
// herd_peer_catchup_entries_total and herd_peer_link_state (1 for the
// link's current state, 0 for the others).
class NodeStatusCollector final : public prometheus::Collectable {
 public:
  NodeStatusCollector(std::function<FloodCounters()> floods,
                      std::function<std::vector<v1::PeerStatus>()> peers,
                      std::function<uint64_t()> clients);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::function<FloodCounters()> floods_;
  const std::function<std::vector<v1::PeerStatus>()> peers_;
  const std::function<uint64_t()> clients_;
};

}  // namespace herd

#endif  // HERD_HERDNODE_OPS_METRICS_H_
