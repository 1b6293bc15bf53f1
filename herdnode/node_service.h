// The HerdNode gRPC service (on completion queues, see cq_reactor.h):
// inter-node updates and catch-up, the client-facing calls the gateway
// translates text into, and status.
#ifndef HERD_HERDNODE_NODE_SERVICE_H_
#define HERD_HERDNODE_NODE_SERVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/cq_reactor.h"
#include "common/grpc_pollers.h"
#include "herd/v1/herd.grpc.pb.h"
#include "herdnode/config.h"
#include "herdnode/mesh/link_set.h"
#include "herdnode/mesh/peer_auth.h"
#include "herdnode/mesh/peer_link.h"
#include "herdnode/ops/watch.h"
#include "herdnode/places/places_provider.h"
#include "herdnode/reloader.h"
#include "herdnode/store/flooding.h"
#include "herdnode/store/location_store.h"
#include "spdlog/logger.h"

namespace herd {

// A random 128-bit incarnation id in hex: a restarted node gets a new one,
// which tells pullers to page it from the beginning.
std::string NewEpoch();

struct NodeServiceDeps {
  std::string self_name;
  std::string epoch;
  // Client reports with a time stamp further ahead of this node's clock are
  // refused (see LocationFromReport); peer updates are never checked so.
  uint32_t max_client_time_ahead_seconds = kDefaultMaxClientTimeAheadSeconds;
  // Calls carrying this token came through the node's in-process channel
  // (see local_caller.h) and may relay text AT lines.
  std::string local_token;
  // How callers of the inter-node RPCs are authenticated on the listener
  // this service instance is registered on.
  PeerListener listener = PeerListener::kInsecure;
  LocationStore* store = nullptr;
  Flooder* flooder = nullptr;
  const LinkSet* links = nullptr;    // one per linked peer (required)
  PlacesProvider* places = nullptr;  // may be null: WHATSAT unimplemented
  WatchHub* watch_hub = nullptr;     // Watch streams (required)
  Reloader* reloader = nullptr;      // may be null: Reload unavailable
  std::shared_ptr<spdlog::logger> log;
};

class NodeService final {
 public:
  explicit NodeService(NodeServiceDeps deps);

  // For ServerBuilder::RegisterService.
  grpc::Service* service() { return &service_; }
  // Once the server is built, before the pollers start: requests every
  // method's calls on the pollers' queues.
  void Serve(const GrpcPollers& pollers);

  // Call once the servers this is registered on have shut down (with the
  // pollers still running): returns once every call has ended, so that
  // nothing a handler used is still in use.
  void ServersStopped() { calls_.AwaitNone(); }

 private:
  template <typename Request, typename Response>
  using Unary =
      FunctionUnaryCall<v1::HerdNode::AsyncService, Request, Response>;

  void PropagateLocation(
      Unary<v1::PropagateLocationRequest, v1::PropagateLocationResponse>& call);
  void Sync(Unary<v1::SyncRequest, v1::SyncResponse>& call);
  void ReportLocation(
      Unary<v1::ReportLocationRequest, v1::ReportLocationResponse>& call);
  void GetLocation(
      Unary<v1::GetLocationRequest, v1::GetLocationResponse>& call);
  void FindNearbyPlaces(
      Unary<v1::FindNearbyPlacesRequest, v1::FindNearbyPlacesResponse>& call);
  void GetStatus(Unary<v1::GetStatusRequest, v1::GetStatusResponse>& call);
  void Reload(Unary<v1::ReloadRequest, v1::ReloadResponse>& call);

  // The link to from_server if the caller of an inter-node RPC may speak as
  // that server (see peer_auth.h); a refusal is logged with the caller's
  // address.
  absl::StatusOr<std::shared_ptr<PeerLink>> AuthorizePeer(
      const grpc::ServerContext& context, std::string_view rpc,
      const std::string& from_server) const;

  const NodeServiceDeps deps_;
  v1::HerdNode::AsyncService service_;
  ServerCalls calls_;
};

}  // namespace herd

#endif  // HERD_HERDNODE_NODE_SERVICE_H_
