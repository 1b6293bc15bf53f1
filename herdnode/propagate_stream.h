// The receiving end of one PropagateLocations stream: batches of live
// updates from one linked peer, authorized once (on the first message) and
// flooded like PropagateLocation's, without an answer per update.
#ifndef HERD_HERDNODE_PROPAGATE_STREAM_H_
#define HERD_HERDNODE_PROPAGATE_STREAM_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "grpcpp/support/server_callback.h"
#include "herd/v1/herd.grpc.pb.h"
#include "herdnode/flooding.h"
#include "herdnode/peer_link.h"
#include "spdlog/logger.h"

namespace herd {

// The link to the peer a stream's from_server names, if the caller may speak
// as that peer (see NodeService::AuthorizePeer); otherwise why not.
using StreamAuthorizer =
    absl::AnyInvocable<absl::StatusOr<PeerLink*>(const std::string&)>;

// Starts serving a stream; the reactor owns itself until gRPC is done with
// it. Updates are journaled by the flooder as they are accepted; the final
// response is sent once they are all durable.
grpc::ServerReadReactor<v1::PropagateLocationsRequest>* ServePropagateStream(
    grpc::CallbackServerContext* context,
    v1::PropagateLocationsResponse* response, StreamAuthorizer authorize,
    Flooder& flooder, std::shared_ptr<spdlog::logger> log);

}  // namespace herd

#endif  // HERD_HERDNODE_PROPAGATE_STREAM_H_
