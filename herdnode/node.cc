#include "herdnode/node.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "herdnode/config.h"
#include "herdnode/local_caller.h"
#include "herdnode/ops/status/status_page.h"
#include "herdnode/ops/timed_places.h"

namespace herd {
namespace {

// The status page lists at most this many clients (the most recently
// updated): enough to see where they are, small enough to render every 2 s.
constexpr size_t kStatusPageClients = 500;

// Binds address (once built) and sets what every listener of a node shares.
void Configure(grpc::ServerBuilder& builder, const std::string& address,
               const std::shared_ptr<grpc::ServerCredentials>& credentials,
               int* bound_port) {
  builder.AddListeningPort(address, credentials, bound_port);
  // Without this, gRPC sets SO_REUSEPORT and a second node on the same port
  // would "succeed" and steal half the connections.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Peers ping their connections every few seconds to notice failures
  // (see peer_link.cc); pings more often than this would cost them theirs.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      static_cast<int>(absl::ToInt64Milliseconds(kMinPeerPingInterval)));
}

absl::Status Bound(const grpc::Server* server, int bound_port,
                   const std::string& address) {
  if (server == nullptr || bound_port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", address,
                     " (port in use, or not an address of this machine)"));
  }
  return absl::OkStatus();
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

void Node::Services::RegisterOn(grpc::ServerBuilder& builder) {
  builder.RegisterService(node.service());
  builder.RegisterService(health.service());
  // What gRPC's reflection plugin would list: every service of the server.
  reflection = std::make_unique<ReflectionService>(std::vector<std::string>{
      v1::HerdNode::service_full_name(),
      grpc::health::v1::Health::service_full_name(),
      grpc::reflection::v1alpha::ServerReflection::service_full_name()});
  builder.RegisterService(reflection->service());
  builder.RegisterAsyncGenericService(unknown.service());
}

void Node::Services::Serve(const GrpcPollers& pollers) {
  node.Serve(pollers);
  health.Serve(pollers, calls);
  reflection->Serve(pollers, calls);
  unknown.Serve(pollers, calls);
}

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

  // gRPC's own default health service runs on the callback API; ours does
  // not (health_service.h).
  grpc::EnableDefaultHealthCheckService(false);
  grpc::ServerBuilder builder;
  int bound_port = 0;
  Configure(builder, address, PeerCredentials(node->options_.tls.get()),
            &bound_port);
  node->pollers_ =
      std::make_unique<GrpcPollers>(node->options_.grpc_threads, &builder);

  std::vector<PeerSink*> sinks;
  for (const std::string& peer :
       LinkedPeers(node->options_.config, node->options_.server_name)) {
    PeerLinkOptions link_options = node->options_.link_template;
    link_options.self_name = node->options_.server_name;
    link_options.peer_name = peer;
    link_options.peer_address =
        (*FindServer(node->options_.config, peer))->grpc_address();
    link_options.tls = node->options_.tls;
    node->links_.push_back(
        std::make_unique<PeerLink>(std::move(link_options), node->flooder_,
                                   node->options_.log, *node->pollers_));
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
  node->services_ = std::make_unique<Services>(std::move(deps));
  node->services_->RegisterOn(builder);
  node->server_ = builder.BuildAndStart();
  if (absl::Status bound = Bound(node->server_.get(), bound_port, address);
      !bound.ok()) {
    return bound;
  }
  if (!operator_address.empty()) {
    node->operator_services_ =
        std::make_unique<Services>(std::move(operator_deps));
    grpc::ServerBuilder operator_builder;
    int operator_port = 0;
    Configure(operator_builder, operator_address,
              grpc::InsecureServerCredentials(), &operator_port);
    node->operator_services_->RegisterOn(operator_builder);
    // Polled by the same threads as the peer listener's.
    node->operator_server_ = node->pollers_->BuildSharing(operator_builder);
    if (absl::Status bound = Bound(node->operator_server_.server.get(),
                                   operator_port, operator_address);
        !bound.ok()) {
      return bound;
    }
  }
  node->services_->Serve(*node->pollers_);
  if (node->operator_services_ != nullptr) {
    node->operator_services_->Serve(*node->pollers_);
  }
  node->pollers_->Start();
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
  for (Services* services : {operator_services_.get(), services_.get()}) {
    if (services == nullptr) continue;
    services->health.SetServing(false);
    // Health's Watch streams never end by themselves either.
    services->health.Stop();
  }
  // Handlers still running may flood to the links, so those stop after.
  for (grpc::Server* server : {operator_server_.server.get(), server_.get()}) {
    if (server != nullptr) server->Shutdown(deadline);
  }
  // The pollers run the calls' last reactions meanwhile.
  for (Services* services : {operator_services_.get(), services_.get()}) {
    if (services == nullptr) continue;
    services->node.ServersStopped();
    services->calls.AwaitNone();
  }
  // Stop every link before any is destroyed: one link's catch-up may still
  // be flooding to the others until it is joined.
  for (const auto& link : links_) link->Stop();
  // Every call is over (the gateway's too: it stops before the node).
  if (pollers_ != nullptr) pollers_->Stop();
  if (operator_server_.unpolled != nullptr) {
    operator_server_.unpolled->Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (operator_server_.unpolled->Next(&tag, &ok)) {
    }
  }
  // Last: handlers and catch-ups above wait for their appends.
  if (durable_log_ != nullptr) durable_log_->Stop();
  if (options_.log != nullptr) {
    options_.log->info("node {} stopped", options_.server_name);
  }
}

}  // namespace herd
