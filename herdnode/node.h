// One herd server's node: its store, flooding, links to its peers and the
// gRPC server (with reflection and health) that serves HerdNode.
#ifndef HERD_HERDNODE_NODE_H_
#define HERD_HERDNODE_NODE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/server.h"
#include "herd/v1/config.pb.h"
#include "herdnode/durable_log.h"
#include "herdnode/flooding.h"
#include "herdnode/http_listener.h"
#include "herdnode/location_store.h"
#include "herdnode/metrics.h"
#include "herdnode/node_service.h"
#include "herdnode/peer_link.h"
#include "herdnode/places_provider.h"
#include "herdnode/status/recent_updates.h"
#include "herdnode/tls_files.h"
#include "spdlog/logger.h"

namespace herd {

struct NodeOptions {
  v1::HerdConfig config;    // validated by Node::Start
  std::string server_name;  // which server of config this node is
  std::shared_ptr<spdlog::logger> log;
  // Where FindNearbyPlaces asks; null: it answers UNIMPLEMENTED.
  std::unique_ptr<PlacesProvider> places;
  // Mutual TLS on the peer listener and links; null: plaintext
  // (--insecure), inter-node calls then trusted by from_server alone.
  std::shared_ptr<const TlsMaterial> tls;
  // Timings of every link (peer name and address are filled in per link).
  PeerLinkOptions link_template;
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
  const std::string& epoch() const { return epoch_; }
  // The node's Prometheus metrics; the gateway reports into them too.
  const std::shared_ptr<NodeMetrics>& metrics() const { return metrics_; }
  // The HTTP listener's port (0 without an http_address).
  uint16_t HttpPort() const { return http_ ? http_->BoundPort() : 0; }
  // Shuts the server down (grace period, then cancel), then the links.
  // Idempotent.
  void Stop();

 private:
  explicit Node(NodeOptions options);

  NodeOptions options_;
  std::string epoch_;
  // Shared with the places decorator and the gateway, whose last callbacks
  // may come after the node is gone.
  std::shared_ptr<NodeMetrics> metrics_ = std::make_shared<NodeMetrics>();
  LocationStore store_;
  Flooder flooder_{store_};
  // Null unless the herd file asks for durability.
  std::unique_ptr<DurableLog> durable_log_;
  std::vector<std::unique_ptr<PeerLink>> links_;
  // After the links (a sink of the flooder like them), before the servers
  // whose Watch calls it serves.
  std::unique_ptr<WatchHub> watch_hub_;
  // The status page's recent updates (a sink of the flooder too).
  std::unique_ptr<RecentUpdates> recent_updates_;
  std::unique_ptr<NodeService> service_;
  std::unique_ptr<grpc::Server> server_;
  // The operator listener: its own server, so that its service instance
  // refuses inter-node calls even when nothing else tells the two apart
  // (--insecure). Null without an operator_address.
  std::unique_ptr<NodeService> operator_service_;
  std::unique_ptr<grpc::Server> operator_server_;
  std::shared_ptr<grpc::Channel> in_process_;
  // Reads the flooding counters and links at scrape time.
  std::shared_ptr<NodeStatusCollector> status_collector_;
  // GET /metrics and the status page on http_address; null without one.
  std::unique_ptr<HttpListener> http_;
  bool stopped_ = false;
};

}  // namespace herd

#endif  // HERD_HERDNODE_NODE_H_
