// Who may make the inter-node calls (PropagateLocation, Sync): decided from
// what the transport proved about the caller, never from what the request
// says alone. The gateway's own in-process relay (empty from_server) is
// checked separately (see local_caller.h).
#ifndef HERD_HERDNODE_MESH_PEER_AUTH_H_
#define HERD_HERDNODE_MESH_PEER_AUTH_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/server_context.h"

namespace herd {

// How the listener a call arrived on authenticates its callers.
enum class PeerListener {
  // The peer listener with mutual TLS: callers present a certificate of the
  // herd CA whose common name is their server name.
  kMutualTls,
  // The peer listener under --insecure: plaintext, so from_server is taken
  // on trust (it only has to name a linked peer).
  kInsecure,
  // The plaintext operator listener: inter-node calls are never served.
  kOperator,
};

// What the transport of one call verified about its caller.
struct CallerIdentity {
  // A client certificate was presented and verified against the herd CA.
  bool verified = false;
  // Its subject's common name (empty without a verified certificate).
  std::string common_name;
};

// The identity the call's auth context carries.
CallerIdentity IdentityOf(const grpc::ServerContextBase& context);

// OK if a caller with this identity, on this listener, may make an
// inter-node call that claims (from_server) to come from `claimed`;
// claimed_is_linked says whether that server is linked to this one.
// Otherwise PERMISSION_DENIED whose message says why (and is meant for the
// log: it names the certificate's CN).
absl::Status AuthorizePeerCall(PeerListener listener,
                               const CallerIdentity& caller,
                               std::string_view claimed,
                               bool claimed_is_linked);

}  // namespace herd

#endif  // HERD_HERDNODE_MESH_PEER_AUTH_H_
