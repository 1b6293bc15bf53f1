#include "herdnode/node.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_text.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "herdnode/config.h"
#include "herdnode/config_change.h"
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

  node->config_ = std::make_shared<const v1::HerdConfig>(node->options_.config);
  if (!node->options_.config_path.empty()) {
    // What the watch compares the file with (read again: the caller parsed
    // its own copy).
    absl::StatusOr<std::string> text =
        ReadHerdFileText(node->options_.config_path);
    MutexLock lock(&node->reload_mu_);
    if (text.ok()) node->herd_file_text_ = *std::move(text);
  }
  // Watch streams see accepted updates exactly as the peers do.
  node->watch_hub_ = std::make_shared<WatchHub>(node->metrics_);
  node->recent_updates_ = std::make_shared<RecentUpdates>();
  LinkSet::Links links;
  for (const std::string& peer :
       LinkedPeers(node->options_.config, node->options_.server_name)) {
    links.push_back(node->MakeLink(node->options_.config, peer));
  }
  node->UseLinks(std::move(links));
  node->status_collector_ = std::make_shared<NodeStatusCollector>(
      [node = node.get()] { return node->flooder_.counters(); },
      [node = node.get()] {
        std::vector<v1::PeerStatus> peers;
        for (const auto& link : *node->links_.All()) {
          peers.push_back(link->Status());
        }
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
  deps.links = &node->links_;
  ReloaderOptions reloads;
  reloads.reload = [node = node.get()] { return node->ReloadHerdFile(); };
  if (!node->options_.config_path.empty()) {
    reloads.watch_every = node->options_.watch_herd_file;
    reloads.file_changed = [node = node.get()] {
      return node->HerdFileChanged();
    };
  }
  node->reloader_ = std::make_unique<Reloader>(std::move(reloads));
  deps.reloader = node->reloader_.get();
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
    sources.config = [node = node.get()] { return node->config(); };
    sources.node = node->options_.server_name;
    sources.epoch = node->epoch_;
    sources.store = &node->store_;
    sources.flooder = &node->flooder_;
    sources.links = &node->links_;
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
  for (const auto& link : *node->links_.All()) link->Start();
  return node;
}

std::shared_ptr<PeerLink> Node::MakeLink(const v1::HerdConfig& config,
                                         const std::string& peer) {
  PeerLinkOptions link_options = options_.link_template;
  link_options.self_name = options_.server_name;
  link_options.peer_name = peer;
  link_options.peer_address = (*FindServer(config, peer))->grpc_address();
  link_options.tls = options_.tls;
  return std::make_shared<PeerLink>(std::move(link_options), flooder_,
                                    options_.log, *pollers_);
}

void Node::UseLinks(LinkSet::Links links) {
  std::vector<std::shared_ptr<PeerSink>> sinks(links.begin(), links.end());
  sinks.push_back(watch_hub_);
  sinks.push_back(recent_updates_);
  links_.Set(std::move(links));
  flooder_.SetPeers(std::move(sinks));
}

std::shared_ptr<const v1::HerdConfig> Node::config() const {
  MutexLock lock(&config_mu_);
  return config_;
}

void Node::SetReloadParticipant(ReloadParticipant* participant) {
  MutexLock lock(&reload_mu_);
  participant_ = participant;
}

ReloadResult Node::Reconfigure(const v1::HerdConfig& next) {
  MutexLock lock(&reload_mu_);
  const std::string& self = options_.server_name;
  if (absl::Status valid = ValidateHerdConfig(next); !valid.ok()) {
    return valid;
  }
  const std::shared_ptr<const v1::HerdConfig> running = config();
  if (absl::Status live = CheckLiveChange(*running, next, self); !live.ok()) {
    return live;
  }
  if (participant_ != nullptr) {
    if (absl::Status taken = participant_->Check(next); !taken.ok()) {
      return taken;
    }
  }
  // Nothing can fail from here on.
  const LinkChange change = LinksChanged(*running, next, self);
  const std::shared_ptr<const LinkSet::Links> current = links_.All();
  const auto named = [](const LinkSet::Links& links, std::string_view peer) {
    return std::find_if(links.begin(), links.end(),
                        [&](const auto& link) { return link->name() == peer; });
  };
  const auto listed = [](const std::vector<std::string>& peers,
                         std::string_view peer) {
    return std::find(peers.begin(), peers.end(), peer) != peers.end();
  };
  LinkSet::Links links;
  LinkSet::Links started;
  for (const std::string& peer : LinkedPeers(next, self)) {
    if (listed(change.added, peer)) {
      started.push_back(MakeLink(next, peer));
      links.push_back(started.back());
    } else {
      links.push_back(*named(*current, peer));
    }
  }
  LinkSet::Links stopped;
  for (const std::shared_ptr<PeerLink>& link : *current) {
    if (listed(change.removed, link->name())) stopped.push_back(link);
  }
  UseLinks(std::move(links));
  {
    MutexLock config_lock(&config_mu_);
    config_ = std::make_shared<const v1::HerdConfig>(next);
  }
  for (const std::shared_ptr<PeerLink>& link : stopped) link->Stop();
  for (const std::shared_ptr<PeerLink>& link : started) link->Start();
  v1::ReloadResponse response;
  for (const std::string& peer : change.added) response.add_links_added(peer);
  for (const std::string& peer : change.removed) {
    response.add_links_removed(peer);
  }
  response.set_gateway_changed(participant_ != nullptr &&
                               participant_->Apply(next));
  response.set_unchanged(
      google::protobuf::util::MessageDifferencer::Equals(*running, next));
  return response;
}

ReloadResult Node::ReloadHerdFile() {
  const std::string& path = options_.config_path;
  ReloadResult result = absl::FailedPreconditionError(
      "this node was not started from a herd file: nothing to reload");
  if (!path.empty()) {
    absl::StatusOr<std::string> text = ReadHerdFileText(path);
    {
      // What the watch compares with: this text, applied or refused.
      MutexLock lock(&reload_mu_);
      herd_file_text_ = text.ok() ? *text : std::string();
    }
    absl::StatusOr<v1::HerdConfig> next =
        text.ok() ? ParseHerdConfig(*text, path)
                  : absl::StatusOr<v1::HerdConfig>(text.status());
    // As the file was read at start; a file without this server is refused
    // below, saying so.
    if (next.ok() && !options_.listen_host.empty() &&
        FindServer(*next, options_.server_name).ok()) {
      if (absl::Status listen =
              ListenOnHost(*next, options_.server_name, options_.listen_host);
          !listen.ok()) {
        next = listen;
      }
    }
    result = next.ok() ? Reconfigure(*next) : ReloadResult(next.status());
  }
  if (result.ok()) {
    options_.log->info(
        "herd file {} reloaded: links added [{}], removed [{}]{}{}", path,
        absl::StrJoin(result->links_added(), ", "),
        absl::StrJoin(result->links_removed(), ", "),
        result->gateway_changed() ? ", gateway limits changed" : "",
        result->unchanged() ? " (nothing changed)" : "");
  } else {
    options_.log->error("herd file {} not reloaded, nothing changed: {}", path,
                        StatusMessage(result.status()));
  }
  return result;
}

bool Node::HerdFileChanged() {
  absl::StatusOr<std::string> text = ReadHerdFileText(options_.config_path);
  MutexLock lock(&reload_mu_);
  // A file that cannot be read now is one to try (and report) again.
  return !text.ok() || *text != herd_file_text_;
}

Node::~Node() { Stop(); }

void Node::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // No reload may start links or touch the gateway from now on.
  if (reloader_ != nullptr) reloader_->Stop();
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
  for (const auto& link : *links_.All()) link->Stop();
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
