// One herd server's node: its store, flooding, links to its peers and the
// gRPC servers (with reflection and health) that serve HerdNode, all of
// their gRPC polled by the node's GrpcPollers.
#ifndef HERD_HERDNODE_NODE_H_
#define HERD_HERDNODE_NODE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc_pollers.h"
#include "common/mutex.h"
#include "grpcpp/channel.h"
#include "grpcpp/server.h"
#include "herd/v1/config.pb.h"
#include "herdnode/durable/durable_log.h"
#include "herdnode/mesh/link_set.h"
#include "herdnode/mesh/peer_link.h"
#include "herdnode/mesh/tls_files.h"
#include "herdnode/node_service.h"
#include "herdnode/ops/health_service.h"
#include "herdnode/ops/http_listener.h"
#include "herdnode/ops/metrics.h"
#include "herdnode/ops/reflection_service.h"
#include "herdnode/ops/status/recent_updates.h"
#include "herdnode/places/places_provider.h"
#include "herdnode/reloader.h"
#include "herdnode/store/flooding.h"
#include "herdnode/store/location_store.h"
#include "herdnode/unknown_method.h"
#include "spdlog/logger.h"

namespace herd {

struct NodeOptions {
  v1::HerdConfig config;  // validated by Node::Start
  // The herd file config was read from: what a reload (SIGHUP, the Reload
  // call, the watch) reads again. Empty: reloads are refused.
  std::string config_path;
  // How often to look whether the herd file changed, and reload it if so
  // (absl::ZeroDuration(): only on request).
  absl::Duration watch_herd_file = absl::ZeroDuration();
  // Non-empty: every herd file read again listens on this host for this
  // server's own addresses (see ListenOnHost); config already does.
  std::string listen_host;
  std::string server_name;  // which server of config this node is
  std::shared_ptr<spdlog::logger> log;
  // Where FindNearbyPlaces asks; null: it answers UNIMPLEMENTED.
  std::unique_ptr<PlacesProvider> places;
  // Mutual TLS on the peer listener and links; null: plaintext
  // (--insecure), inter-node calls then trusted by from_server alone.
  std::shared_ptr<const TlsMaterial> tls;
  // Timings of every link (peer name and address are filled in per link).
  PeerLinkOptions link_template;
  // How many threads poll the node's gRPC (servers, links, the gateway's
  // calls): see GrpcPollers. One by default: with gRPC's epoll1 poller, a
  // second thread only takes the poller role in turns (a wake-up each).
  int grpc_threads = 1;
  // How long Stop() lets calls in progress finish before cancelling them.
  absl::Duration shutdown_grace = absl::Seconds(2);
  // What the durable log writes through (if the config asks for one): the
  // real disk unless a test injects faults. Must outlive the node.
  DurableEnv* durable_env = &PosixDurableEnv();
};

class Node {
 public:
  // Validates the config, binds the server's grpc_address (peers: mutual
  // TLS unless options.tls is null) and operator_address if set (plaintext,
  // no inter-node calls), and starts serving and linking. A port in use is
  // an error naming the address.
  static absl::StatusOr<std::unique_ptr<Node>> Start(NodeOptions options);
  ~Node();  // Stops.

  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // A channel to this node's own service that never leaves the process; the
  // gateway uses it (and only it may relay text AT lines).
  std::shared_ptr<grpc::Channel> InProcessChannel() { return in_process_; }
  // The threads that poll all of the node's gRPC; clients in the process
  // (the gateway) put their calls on these queues too. Running until Stop().
  GrpcPollers& pollers() { return *pollers_; }
  const std::string& epoch() const { return epoch_; }
  // The node's Prometheus metrics; the gateway reports into them too.
  const std::shared_ptr<NodeMetrics>& metrics() const { return metrics_; }
  // The HTTP listener's port (0 without an http_address).
  uint16_t HttpPort() const { return http_ ? http_->BoundPort() : 0; }
  // Shuts the server down (grace period, then cancel), then the links.
  // Idempotent.
  void Stop();

  // Applies next (a whole herd file) while serving: links dialled, made anew
  // or closed, the participant's part, the herd shown on the status page.
  // Refused, changing nothing, if next does not validate, changes what only
  // a restart can (config_change.h) or the participant cannot take it.
  // Blocks (it joins removed links' workers): never on a gRPC poller or an
  // event loop. One at a time.
  ReloadResult Reconfigure(const v1::HerdConfig& next);
  // Reads options.config_path again and Reconfigures with it, on the
  // reloader's thread; done gets the outcome (also logged).
  void RequestReload(ReloadDone done) { reloader_->Request(std::move(done)); }
  // The gateway's part in reloads, or null; must outlive the node or be
  // cleared first.
  void SetReloadParticipant(ReloadParticipant* participant);
  // The herd file in effect.
  std::shared_ptr<const v1::HerdConfig> config() const;

 private:
  explicit Node(NodeOptions options);

  // A link to peer as config describes it (not started).
  std::shared_ptr<PeerLink> MakeLink(const v1::HerdConfig& config,
                                     const std::string& peer);
  // The links from now on; accepted updates go to them and the local sinks.
  void UseLinks(LinkSet::Links links);
  // Reads the herd file and Reconfigures with it (the reloader's job).
  ReloadResult ReloadHerdFile();
  // Whether the herd file's text differs from what was last read.
  bool HerdFileChanged();

  // One listener's services (one instance per server: gRPC binds a
  // service to one server).
  struct Services {
    explicit Services(NodeServiceDeps deps) : node(std::move(deps)) {}
    NodeService node;
    HealthService health;
    std::unique_ptr<ReflectionService> reflection;
    UnknownMethods unknown;
    ServerCalls calls;  // of health, reflection and unknown
    void RegisterOn(grpc::ServerBuilder& builder);
    void Serve(const GrpcPollers& pollers);
  };

  NodeOptions options_;
  std::string epoch_;
  // Shared with the places decorator and the gateway, whose last callbacks
  // may come after the node is gone.
  std::shared_ptr<NodeMetrics> metrics_ = std::make_shared<NodeMetrics>();
  LocationStore store_;
  Flooder flooder_{store_};
  // Null unless the herd file asks for durability.
  std::unique_ptr<DurableLog> durable_log_;
  LinkSet links_;
  // After the links (a sink of the flooder like them), before the servers
  // whose Watch calls it serves.
  std::shared_ptr<WatchHub> watch_hub_;
  // The status page's recent updates (a sink of the flooder too).
  std::shared_ptr<RecentUpdates> recent_updates_;
  // The herd file in effect (options_.config until the first reload).
  mutable Mutex config_mu_;
  std::shared_ptr<const v1::HerdConfig> config_ ABSL_GUARDED_BY(config_mu_);
  // One reload at a time; what it reads and who takes part.
  Mutex reload_mu_;
  ReloadParticipant* participant_ ABSL_GUARDED_BY(reload_mu_) = nullptr;
  std::string herd_file_text_ ABSL_GUARDED_BY(reload_mu_);
  // Runs reloads; before the servers whose Reload calls it answers.
  std::unique_ptr<Reloader> reloader_;
  // Made with the peer listener's builder; polls both listeners.
  std::unique_ptr<GrpcPollers> pollers_;
  std::unique_ptr<Services> services_;
  std::unique_ptr<grpc::Server> server_;
  // The operator listener: its own server, so that its service instance
  // refuses inter-node calls even when nothing else tells the two apart
  // (--insecure). Null without an operator_address.
  std::unique_ptr<Services> operator_services_;
  GrpcPollers::SharedServer operator_server_;
  std::shared_ptr<grpc::Channel> in_process_;
  // Reads the flooding counters and links at scrape time.
  std::shared_ptr<NodeStatusCollector> status_collector_;
  // GET /metrics and the status page on http_address; null without one.
  std::unique_ptr<HttpListener> http_;
  bool stopped_ = false;
};

}  // namespace herd

#endif  // HERD_HERDNODE_NODE_H_
