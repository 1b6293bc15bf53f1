#include "herdnode/node.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "herdnode/config.h"
#include "herdnode/local_caller.h"
#include "herdnode/status/status_page.h"
#include "herdnode/timed_places.h"

namespace herd {
namespace {

// The status page lists at most this many clients (the most recently
// updated): enough to see where they are, small enough to render every 2 s.
constexpr size_t kStatusPageClients = 500;

// Binds address and serves service there (with reflection and health).
absl::StatusOr<std::unique_ptr<grpc::Server>> Listen(
    const std::string& address,
    const std::shared_ptr<grpc::ServerCredentials>& credentials,
    grpc::Service* service) {
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(address, credentials, &bound_port);
  // Without this, gRPC sets SO_REUSEPORT and a second node on the same port
  // would "succeed" and steal half the connections.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Peers ping their connections every few seconds to notice failures
  // (see peer_link.cc); pings more often than this would cost them theirs.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      static_cast<int>(absl::ToInt64Milliseconds(kMinPeerPingInterval)));
  builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", address,
                     " (port in use, or not an address of this machine)"));
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  return server;
}

// Peers must present a certificate of the herd CA, and get this node's.
std::shared_ptr<grpc::ServerCredentials> PeerCredentials(
    const TlsMaterial* tls) {
  if (tls == nullptr) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = tls->ca_cert_pem;
  ssl.pem_key_cert_pairs.push_back({tls->private_key_pem, tls->cert_chain_pem});
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

Node::Node(NodeOptions options)
    : options_(std::move(options)), epoch_(NewEpoch()) {}

absl::StatusOr<std::unique_ptr<Node>> Node::Start(NodeOptions options) {
  if (absl::Status valid = ValidateHerdConfig(options.config); !valid.ok()) {
    return valid;
  }
  absl::StatusOr<const v1::ServerConfig*> self =
      FindServer(options.config, options.server_name);
  if (!self.ok()) return self.status();
  const std::string address = (*self)->grpc_address();
  const std::string operator_address = (*self)->operator_address();
  const std::string http_address = (*self)->http_address();
  if (options.log == nullptr) {
    return absl::InvalidArgumentError("node started without a server log");
  }
  // Private constructor: make_unique cannot reach it.
  std::unique_ptr<Node> node(new Node(std::move(options)));
  // Stored state is back in the store before anything listens or links.
  absl::StatusOr<std::unique_ptr<DurableLog>> durable =
      OpenConfiguredDurableLog(node->options_.config,
                               node->options_.server_name, node->store_,
                               node->options_.log, *node->options_.durable_env);
  if (!durable.ok()) return durable.status();
  node->durable_log_ = *std::move(durable);
  node->flooder_.SetJournal(node->durable_log_.get());

  std::vector<PeerSink*> sinks;
  for (const std::string& peer :
       LinkedPeers(node->options_.config, node->options_.server_name)) {
    PeerLinkOptions link_options = node->options_.link_template;
    link_options.self_name = node->options_.server_name;
    link_options.peer_name = peer;
    link_options.peer_address =
        (*FindServer(node->options_.config, peer))->grpc_address();
    link_options.tls = node->options_.tls;
    node->links_.push_back(std::make_unique<PeerLink>(
        std::move(link_options), node->flooder_, node->options_.log));
    sinks.push_back(node->links_.back().get());
  }
  // Watch streams see accepted updates exactly as the peers do.
  node->watch_hub_ = std::make_unique<WatchHub>(node->metrics_);
  sinks.push_back(node->watch_hub_.get());
  node->recent_updates_ = std::make_unique<RecentUpdates>();
  sinks.push_back(node->recent_updates_.get());
  node->flooder_.SetPeers(sinks);
  node->status_collector_ = std::make_shared<NodeStatusCollector>(
      [node = node.get()] { return node->flooder_.counters(); },
      [node = node.get()] {
        std::vector<v1::PeerStatus> peers;
        for (const auto& link : node->links_) peers.push_back(link->Status());
        return peers;
      },
      [node = node.get()] { return node->store_.size(); });
  node->metrics_->AddCollectable(node->status_collector_);
  if (node->options_.places != nullptr) {
    node->options_.places = std::make_unique<TimedPlacesProvider>(
        std::move(node->options_.places), node->metrics_);
    // Cache hits and misses of a provider that has a cache (Google).
    node->options_.places->ObserveCache(node->metrics_);
  }

  NodeServiceDeps deps;
  deps.self_name = node->options_.server_name;
  deps.epoch = node->epoch_;
  deps.max_client_time_ahead_seconds =
      EffectiveMaxClientTimeAheadSeconds(node->options_.config);
  // Random like the epoch, but never sent anywhere: only the in-process
  // channel knows it.
  const std::string local_token = NewEpoch();
  deps.local_token = local_token;
  deps.store = &node->store_;
  deps.flooder = &node->flooder_;
  for (const auto& link : node->links_) deps.links.push_back(link.get());
  deps.places = node->options_.places.get();
  deps.watch_hub = node->watch_hub_.get();
  deps.log = node->options_.log;
  deps.listener = node->options_.tls != nullptr ? PeerListener::kMutualTls
                                                : PeerListener::kInsecure;
  NodeServiceDeps operator_deps = deps;
  operator_deps.listener = PeerListener::kOperator;
  node->service_ = std::make_unique<NodeService>(std::move(deps));
  node->operator_service_ =
      std::make_unique<NodeService>(std::move(operator_deps));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  absl::StatusOr<std::unique_ptr<grpc::Server>> server = Listen(
      address, PeerCredentials(node->options_.tls.get()), node->service_.get());
  if (!server.ok()) return server.status();
  node->server_ = *std::move(server);
  if (!operator_address.empty()) {
    absl::StatusOr<std::unique_ptr<grpc::Server>> operator_server =
        Listen(operator_address, grpc::InsecureServerCredentials(),
               node->operator_service_.get());
    if (!operator_server.ok()) return operator_server.status();
    node->operator_server_ = *std::move(operator_server);
  }
  if (!http_address.empty()) {
    HttpRoutes routes;
    routes["/metrics"] = [metrics = node->metrics_] {
      // The Prometheus text exposition format, version 0.0.4.
      return HttpReply{"text/plain; version=0.0.4; charset=utf-8",
                       metrics->Exposition()};
    };
    StatusSources sources;
    sources.config = &node->options_.config;
    sources.node = node->options_.server_name;
    sources.epoch = node->epoch_;
    sources.store = &node->store_;
    sources.flooder = &node->flooder_;
    for (const auto& link : node->links_) sources.links.push_back(link.get());
    sources.recent = node->recent_updates_.get();
    AddStatusPageRoutes(
        [sources = std::move(sources)] {
          return TakeStatusSnapshot(sources, kStatusPageClients);
        },
        routes);
    absl::StatusOr<std::unique_ptr<HttpListener>> http = HttpListener::Start(
        http_address, std::move(routes), node->options_.log);
    if (!http.ok()) return http.status();
    node->http_ = *std::move(http);
  }
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      stamp;
  stamp.push_back(MakeLocalCallerStamp(local_token));
  node->in_process_ =
      node->server_->experimental().InProcessChannelWithInterceptors(
          grpc::ChannelArguments(), std::move(stamp));
  node->options_.log->info(
      "node {} listening for gRPC on {} ({}), operator listener {}, HTTP {} "
      "(epoch {})",
      node->options_.server_name, address,
      node->options_.tls != nullptr ? "mutual TLS" : "plaintext, --insecure",
      operator_address.empty() ? "none" : operator_address,
      http_address.empty() ? "none" : http_address, node->epoch_);
  for (const auto& link : node->links_) link->Start();
  return node;
}

Node::~Node() { Stop(); }

void Node::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (http_ != nullptr) http_->Stop();
  // Watch streams never end by themselves: end them, or the servers'
  // shutdown below would wait out its grace period for them.
  if (watch_hub_ != nullptr) watch_hub_->Stop();
  const auto deadline =
      absl::ToChronoTime(absl::Now() + options_.shutdown_grace);
  // Handlers still running may flood to the links, so those stop after.
  for (grpc::Server* server : {operator_server_.get(), server_.get()}) {
    if (server == nullptr) continue;
    server->GetHealthCheckService()->SetServingStatus(false);
    server->Shutdown(deadline);
  }
  for (NodeService* service : {operator_service_.get(), service_.get()}) {
    if (service != nullptr) service->ServersStopped();
  }
  // Stop every link before any is destroyed: one link's catch-up may still
  // be flooding to the others until it is joined.
  for (const auto& link : links_) link->Stop();
  // Last: handlers and catch-ups above wait for their appends.
  if (durable_log_ != nullptr) durable_log_->Stop();
  if (options_.log != nullptr) {
    options_.log->info("node {} stopped", options_.server_name);
  }
}

}  // namespace herd
