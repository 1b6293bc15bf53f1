#include "herdnode/node.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "herdnode/config.h"
#include "herdnode/local_caller.h"

namespace herd {

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
  if (options.log == nullptr) {
    return absl::InvalidArgumentError("node started without a server log");
  }
  // Private constructor: make_unique cannot reach it.
  std::unique_ptr<Node> node(new Node(std::move(options)));

  std::vector<PeerSink*> sinks;
  for (const std::string& peer :
       LinkedPeers(node->options_.config, node->options_.server_name)) {
    PeerLinkOptions link_options = node->options_.link_template;
    link_options.self_name = node->options_.server_name;
    link_options.peer_name = peer;
    link_options.peer_address =
        (*FindServer(node->options_.config, peer))->grpc_address();
    node->links_.push_back(std::make_unique<PeerLink>(
        std::move(link_options), node->flooder_, node->options_.log));
    sinks.push_back(node->links_.back().get());
  }
  node->flooder_.SetPeers(sinks);

  NodeServiceDeps deps;
  deps.self_name = node->options_.server_name;
  deps.epoch = node->epoch_;
  // Random like the epoch, but never sent anywhere: only the in-process
  // channel knows it.
  const std::string local_token = NewEpoch();
  deps.local_token = local_token;
  deps.store = &node->store_;
  deps.flooder = &node->flooder_;
  for (const auto& link : node->links_) deps.links.push_back(link.get());
  deps.places = node->options_.places.get();
  deps.log = node->options_.log;
  node->service_ = std::make_unique<NodeService>(std::move(deps));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(),
                           &bound_port);
  // Without this, gRPC sets SO_REUSEPORT and a second node on the same port
  // would "succeed" and steal half the connections.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Peers ping idle connections to notice failures (see peer_link.cc).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 20'000);
  builder.RegisterService(node->service_.get());
  node->server_ = builder.BuildAndStart();
  if (node->server_ == nullptr || bound_port == 0) {
    node->server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", address,
                     " (port in use, or not an address of this machine)"));
  }
  node->server_->GetHealthCheckService()->SetServingStatus(true);
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      stamp;
  stamp.push_back(MakeLocalCallerStamp(local_token));
  node->in_process_ =
      node->server_->experimental().InProcessChannelWithInterceptors(
          grpc::ChannelArguments(), std::move(stamp));
  node->options_.log->info("node {} listening for gRPC on {} (epoch {})",
                           node->options_.server_name, address, node->epoch_);
  for (const auto& link : node->links_) link->Start();
  return node;
}

Node::~Node() { Stop(); }

void Node::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->SetServingStatus(false);
    // Handlers still running may flood to the links, so those stop after.
    server_->Shutdown(
        absl::ToChronoTime(absl::Now() + options_.shutdown_grace));
  }
  // Stop every link before any is destroyed: one link's catch-up may still
  // be flooding to the others until it is joined.
  for (const auto& link : links_) link->Stop();
  if (options_.log != nullptr) {
    options_.log->info("node {} stopped", options_.server_name);
  }
}

}  // namespace herd
