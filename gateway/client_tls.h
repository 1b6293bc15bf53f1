// TLS on the gateway's client listener: the server context that admits only
// clients holding a certificate of the configured client CA, and who a
// verified certificate says the client is.
#ifndef HERD_GATEWAY_CLIENT_TLS_H_
#define HERD_GATEWAY_CLIENT_TLS_H_

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/asio/ssl/context.hpp"

namespace herd::gateway {

// A TLS 1.2+ server context presenting cert_chain_pem/private_key_pem that
// requires a client certificate verifying against client_ca_pem (the
// handshake fails without one). Errors say which part OpenSSL refused.
absl::StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeClientTlsContext(
    std::string_view cert_chain_pem, std::string_view private_key_pem,
    std::string_view client_ca_pem);

// The client ids the peer certificate of a completed handshake names: its
// subjectAltName DNS and URI entries or, when it has neither, its common
// name (the order of RFC 6125). Entries a client id cannot be (empty, or
// with whitespace or control characters) are left out. Empty without a
// certificate.
std::vector<std::string> CertifiedClientIds(SSL* ssl);

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_CLIENT_TLS_H_
