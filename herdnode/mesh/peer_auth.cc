#include "herdnode/mesh/peer_auth.h"

#include "fmt/format.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"

namespace herd {
namespace {

// What gRPC's SSL transport puts under
// GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME.
constexpr std::string_view kSslTransport = "ssl";

std::string FirstValue(const grpc::AuthContext& auth, const char* property) {
  const std::vector<grpc::string_ref> values =
      auth.FindPropertyValues(property);
  if (values.empty()) return "";
  return std::string(values.front().data(), values.front().size());
}

}  // namespace

CallerIdentity IdentityOf(const grpc::ServerContextBase& context) {
  CallerIdentity identity;
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  // The in-process channel and plaintext listeners carry no peer identity.
  if (auth == nullptr || !auth->IsPeerAuthenticated() ||
      FirstValue(*auth, GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME) !=
          kSslTransport) {
    return identity;
  }
  identity.common_name = FirstValue(*auth, GRPC_X509_CN_PROPERTY_NAME);
  // The SSL listener verifies every client certificate against the herd CA
  // before the call starts, so an authenticated SSL peer is a verified one.
  identity.verified = !identity.common_name.empty();
  return identity;
}

absl::Status AuthorizePeerCall(PeerListener listener,
                               const CallerIdentity& caller,
                               std::string_view claimed,
                               bool claimed_is_linked) {
  switch (listener) {
    case PeerListener::kOperator:
      return absl::PermissionDeniedError(
          "inter-node calls are not served on the operator listener");
    case PeerListener::kInsecure:
      if (!claimed_is_linked) {
        return absl::PermissionDeniedError(
            fmt::format("from_server '{}' is not a linked peer (--insecure: no "
                        "certificate checked)",
                        claimed));
      }
      return absl::OkStatus();
    case PeerListener::kMutualTls:
      if (!caller.verified) {
        return absl::PermissionDeniedError(
            "no verified client certificate of the herd CA");
      }
      if (caller.common_name != claimed) {
        return absl::PermissionDeniedError(
            fmt::format("certificate CN '{}' does not match from_server '{}'",
                        caller.common_name, claimed));
      }
      if (!claimed_is_linked) {
        return absl::PermissionDeniedError(fmt::format(
            "certificate CN '{}' is not a linked peer", caller.common_name));
      }
      return absl::OkStatus();
  }
  return absl::PermissionDeniedError("unknown listener");
}

}  // namespace herd
