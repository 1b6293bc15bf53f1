// The HerdNode gRPC service (callback API): inter-node updates and catch-up,
// the client-facing calls the gateway translates text into, and status.
#ifndef HERD_HERDNODE_NODE_SERVICE_H_
#define HERD_HERDNODE_NODE_SERVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "herd/v1/herd.grpc.pb.h"
#include "herdnode/config.h"
#include "herdnode/flooding.h"
#include "herdnode/grpc_handoff.h"
#include "herdnode/location_store.h"
#include "herdnode/peer_auth.h"
#include "herdnode/peer_link.h"
#include "herdnode/places_provider.h"
#include "herdnode/watch.h"
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
  std::vector<PeerLink*> links;      // one per linked peer
  PlacesProvider* places = nullptr;  // may be null: WHATSAT unimplemented
  WatchHub* watch_hub = nullptr;     // Watch streams (required)
  std::shared_ptr<spdlog::logger> log;
};

class NodeService final : public v1::HerdNode::CallbackService {
 public:
  explicit NodeService(NodeServiceDeps deps);

  grpc::ServerUnaryReactor* PropagateLocation(
      grpc::CallbackServerContext* context,
      const v1::PropagateLocationRequest* request,
      v1::PropagateLocationResponse* response) override;
  grpc::ServerBidiReactor<v1::PropagateLocationsRequest,
                          v1::PropagateLocationsResponse>*
  PropagateLocations(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* Sync(grpc::CallbackServerContext* context,
                                 const v1::SyncRequest* request,
                                 v1::SyncResponse* response) override;
  grpc::ServerUnaryReactor* ReportLocation(
      grpc::CallbackServerContext* context,
      const v1::ReportLocationRequest* request,
      v1::ReportLocationResponse* response) override;
  grpc::ServerBidiReactor<v1::ReportLocationsRequest,
                          v1::ReportLocationsResponse>*
  ReportLocations(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* GetLocation(
      grpc::CallbackServerContext* context,
      const v1::GetLocationRequest* request,
      v1::GetLocationResponse* response) override;
  grpc::ServerUnaryReactor* FindNearbyPlaces(
      grpc::CallbackServerContext* context,
      const v1::FindNearbyPlacesRequest* request,
      v1::FindNearbyPlacesResponse* response) override;
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::GetStatusRequest* request,
                                      v1::GetStatusResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchEvent>* Watch(
      grpc::CallbackServerContext* context,
      const v1::WatchRequest* request) override;

  // Call once the servers this is registered on have shut down: gRPC has
  // then run every handler to its end, and what they did happens before
  // what the caller does next, such as destroying what they used.
  void ServersStopped() { built_.Acquire(); }

 private:
  // The link to a peer by name, or null if that server is not linked here.
  PeerLink* LinkTo(std::string_view name) const;
  // Whether the caller of an inter-node RPC may speak as from_server (see
  // peer_auth.h); a refusal is logged with the caller's address.
  absl::Status AuthorizePeer(const grpc::CallbackServerContext& context,
                             std::string_view rpc,
                             const std::string& from_server) const;

  const NodeServiceDeps deps_;
  absl::flat_hash_map<std::string, PeerLink*> links_by_name_;
  // Released when construction is done; every handler acquires it on entry
  // and releases it on return (see GrpcHandoff).
  GrpcHandoff built_;
};

}  // namespace herd

#endif  // HERD_HERDNODE_NODE_SERVICE_H_
