// Telling this node's own gateway apart from everyone else. The gateway may
// relay text AT lines (PropagateLocation with an empty from_server); nothing
// arriving over a socket may.
//
// Why not ServerContext::peer()? gRPC 1.51's in-process transport sets no
// peer at all, so peer() reports "unknown" -- the generic fallback of
// grpc_call_get_peer, not an identity. Instead the in-process channel stamps
// every call with a random per-process token in a metadata header that no
// remote caller can know.
#ifndef HERD_HERDNODE_LOCAL_CALLER_H_
#define HERD_HERDNODE_LOCAL_CALLER_H_

#include <memory>
#include <string>
#include <string_view>

#include "grpcpp/server_context.h"
#include "grpcpp/support/client_interceptor.h"

namespace herd {

// The interceptor factory for the in-process channel: adds the token to the
// initial metadata of every call.
std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>
MakeLocalCallerStamp(std::string token);

// True if the call carries token (so it came through the stamped channel).
bool IsLocalCaller(const grpc::ServerContextBase& context,
                   std::string_view token);

}  // namespace herd

#endif  // HERD_HERDNODE_LOCAL_CALLER_H_
