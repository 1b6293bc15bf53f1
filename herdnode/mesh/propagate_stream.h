// The receiving end of one PropagateLocations stream: batches of live
// updates from one linked peer, authorized once (on the first message) and
// flooded like PropagateLocation's, without an answer per update (the one
// response comes when the sender ends the stream). While the journal is
// behind, the next batch is not read until the journal has caught up, so a
// slow disk holds the updates back at the sender (coalesced per client
// there) instead of queueing them here without bound.
#ifndef HERD_HERDNODE_MESH_PROPAGATE_STREAM_H_
#define HERD_HERDNODE_MESH_PROPAGATE_STREAM_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/cq_reactor.h"
#include "grpcpp/server_context.h"
#include "herd/v1/herd.grpc.pb.h"
#include "herdnode/mesh/peer_link.h"
#include "herdnode/store/flooding.h"
#include "spdlog/logger.h"

namespace herd {

// The link to the peer a stream's from_server names, if the caller (of the
// call with this context) may speak as that peer (see
// NodeService::AuthorizePeer); otherwise why not.
using StreamAuthorizer =
    std::function<absl::StatusOr<std::shared_ptr<PeerLink>>(
        const grpc::ServerContext&, const std::string&)>;

// The calls of service's PropagateLocations, for ServerCalls::Serve. Each
// owns itself until gRPC is done with it. Updates are journaled by the
// flooder as they are accepted; a stream the peer ends is finished OK once
// they are all durable. A stream whose link is stopped (the herd file no
// longer links the peer) is ended PERMISSION_DENIED at its next message.
ServerCalls::Factory PropagateStreamCalls(v1::HerdNode::AsyncService& service,
                                          StreamAuthorizer authorize,
                                          Flooder& flooder,
                                          std::shared_ptr<spdlog::logger> log);

}  // namespace herd

#endif  // HERD_HERDNODE_MESH_PROPAGATE_STREAM_H_
