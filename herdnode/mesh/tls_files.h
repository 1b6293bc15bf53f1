// The files of a node's mutual TLS (the herd file's tls section): where
// they are, reading them, and checking at start that they can work, so a
// wrong file is an error naming it rather than a handshake that fails later.
#ifndef HERD_HERDNODE_MESH_TLS_FILES_H_
#define HERD_HERDNODE_MESH_TLS_FILES_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "herd/v1/config.pb.h"

namespace herd {

// PEM texts, as gRPC's SSL credentials take them.
struct TlsMaterial {
  std::string ca_cert_pem;      // the herd CA: the only trusted root
  std::string cert_chain_pem;   // this node's certificate
  std::string private_key_pem;  // its private key
};

// A tls path with every "{name}" replaced by server_name; a relative result
// is taken relative to base_dir (the herd file's directory).
std::filesystem::path ResolveTlsPath(std::string_view configured,
                                     std::string_view server_name,
                                     const std::filesystem::path& base_dir);

// Reads the three files of config.tls() for server_name and checks that
// the CA and certificate are PEM certificates, the key is this
// certificate's, the certificate is signed by the CA and its common name
// is server_name. Errors name the field and the file (a herd file without
// a tls section is an error that mentions --insecure).
absl::StatusOr<TlsMaterial> LoadTlsMaterial(
    const v1::HerdConfig& config, std::string_view server_name,
    const std::filesystem::path& base_dir);

// The TLS gateway's PEM texts (the herd file's gateway_tls section).
struct GatewayTlsMaterial {
  std::string client_ca_pem;    // clients must present a certificate of it
  std::string cert_chain_pem;   // the gateway's own certificate
  std::string private_key_pem;  // its private key
  bool bind_client_id = false;  // gateway_tls.bind_client_id
};

// Reads config.gateway_tls()'s files for server_name (the certificate and
// key of the tls section when gateway_tls names none) and checks that the
// client CA is a PEM certificate and the key is the certificate's. Errors
// name the field and the file.
absl::StatusOr<GatewayTlsMaterial> LoadGatewayTlsMaterial(
    const v1::HerdConfig& config, std::string_view server_name,
    const std::filesystem::path& base_dir);

}  // namespace herd

#endif  // HERD_HERDNODE_MESH_TLS_FILES_H_
