#include "herdnode/mesh/tls_files.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <utility>

#include "absl/strings/str_replace.h"
#include "common/openssl_ptr.h"
#include "fmt/format.h"

namespace herd {
namespace {

using BioPtr = OpenSslPtr<BIO, BIO_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;
using KeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using StorePtr = OpenSslPtr<X509_STORE, X509_STORE_free>;
using StoreContextPtr = OpenSslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;

// One configured file: which field named it, the path the herd file gives
// ("" if unset), and where that resolved to.
struct TlsFile {
  std::string field;  // e.g. "tls.cert_path"
  std::string configured;
  std::filesystem::path path;

  std::string Describe() const {
    return fmt::format("{} '{}'", field, path.string());
  }
};

// The TLS files of one server: each field's path resolved (ResolveTlsPath).
class TlsFiles {
 public:
  TlsFiles(std::string_view server_name, const std::filesystem::path& base_dir)
      : server_name_(server_name), base_dir_(base_dir) {}

  TlsFile File(std::string field, const std::string& configured) const {
    return TlsFile{std::move(field), configured,
                   ResolveTlsPath(configured, server_name_, base_dir_)};
  }

 private:
  std::string_view server_name_;
  const std::filesystem::path& base_dir_;
};

absl::StatusOr<std::string> ReadTlsFile(const TlsFile& file) {
  if (file.configured.empty()) {
    const std::string section = file.field.substr(0, file.field.find('.'));
    return absl::InvalidArgumentError(fmt::format(
        "the herd file's {} section has no {}", section, file.field));
  }
  std::ifstream in(file.path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(fmt::format(
        "{}: cannot read: {}", file.Describe(), std::strerror(errno)));
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (bytes.str().empty()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: the file is empty", file.Describe()));
  }
  return bytes.str();
}

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

absl::StatusOr<X509Ptr> ParseCertificate(const std::string& pem,
                                         const TlsFile& file) {
  BioPtr bio = MemoryBio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (bio == nullptr || cert == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("{}: not a PEM certificate", file.Describe()));
  }
  return cert;
}

std::string CommonName(X509* cert) {
  char name[256] = {};
  const int length =
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
                                name, static_cast<int>(sizeof(name)));
  return length > 0 ? std::string(name, static_cast<size_t>(length)) : "";
}

// Whether ca signed cert (chain verification as a TLS peer would do it).
absl::Status CheckSignedBy(X509* cert, X509* ca, const TlsFile& cert_file,
                           const TlsFile& ca_file) {
  StorePtr store(X509_STORE_new());
  StoreContextPtr context(X509_STORE_CTX_new());
  if (store == nullptr || context == nullptr ||
      X509_STORE_add_cert(store.get(), ca) != 1 ||
      X509_STORE_CTX_init(context.get(), store.get(), cert, nullptr) != 1) {
    return absl::InternalError("cannot set up certificate verification");
  }
  if (X509_verify_cert(context.get()) != 1) {
    return absl::InvalidArgumentError(
        fmt::format("{} does not verify against the herd CA {}: {}",
                    cert_file.Describe(), ca_file.Describe(),
                    X509_verify_cert_error_string(
                        X509_STORE_CTX_get_error(context.get()))));
  }
  return absl::OkStatus();
}

// A certificate and the private key that goes with it.
struct KeyPair {
  X509Ptr cert;
  KeyPtr key;
};

absl::StatusOr<KeyPair> ParseKeyPair(const std::string& cert_pem,
                                     const TlsFile& cert_file,
                                     const std::string& key_pem,
                                     const TlsFile& key_file) {
  absl::StatusOr<X509Ptr> cert = ParseCertificate(cert_pem, cert_file);
  if (!cert.ok()) return cert.status();
  BioPtr key_bio = MemoryBio(key_pem);
  KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: not an unencrypted PEM private key", key_file.Describe()));
  }
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    return absl::InvalidArgumentError(fmt::format(
        "{} is not the key of {}", key_file.Describe(), cert_file.Describe()));
  }
  return KeyPair{*std::move(cert), std::move(key)};
}

// Reads each file into its target.
absl::Status ReadTlsFiles(
    std::initializer_list<std::pair<const TlsFile*, std::string*>> files) {
  for (const auto& [tls_file, target] : files) {
    absl::StatusOr<std::string> bytes = ReadTlsFile(*tls_file);
    if (!bytes.ok()) return bytes.status();
    *target = *std::move(bytes);
  }
  return absl::OkStatus();
}

}  // namespace

std::filesystem::path ResolveTlsPath(std::string_view configured,
                                     std::string_view server_name,
                                     const std::filesystem::path& base_dir) {
  const std::filesystem::path path(absl::StrReplaceAll(
      std::string(configured), {{"{name}", std::string(server_name)}}));
  return path.is_absolute() ? path : base_dir / path;
}

absl::StatusOr<TlsMaterial> LoadTlsMaterial(
    const v1::HerdConfig& config, std::string_view server_name,
    const std::filesystem::path& base_dir) {
  if (!config.has_tls()) {
    return absl::InvalidArgumentError(
        "the herd file has no tls section (the inter-node mutual TLS "
        "certificates); add one, or run with --insecure to go without");
  }
  const v1::TlsConfig& tls = config.tls();
  const TlsFiles files(server_name, base_dir);
  const TlsFile ca_file = files.File("tls.ca_cert_path", tls.ca_cert_path());
  const TlsFile cert_file = files.File("tls.cert_path", tls.cert_path());
  const TlsFile key_file = files.File("tls.key_path", tls.key_path());

  TlsMaterial material;
  if (absl::Status read =
          ReadTlsFiles({{&ca_file, &material.ca_cert_pem},
                        {&cert_file, &material.cert_chain_pem},
                        {&key_file, &material.private_key_pem}});
      !read.ok()) {
    return read;
  }

  absl::StatusOr<X509Ptr> ca = ParseCertificate(material.ca_cert_pem, ca_file);
  if (!ca.ok()) return ca.status();
  absl::StatusOr<KeyPair> pair = ParseKeyPair(
      material.cert_chain_pem, cert_file, material.private_key_pem, key_file);
  if (!pair.ok()) return pair.status();
  if (absl::Status signed_by =
          CheckSignedBy(pair->cert.get(), ca->get(), cert_file, ca_file);
      !signed_by.ok()) {
    return signed_by;
  }
  // Peers authorize this node by the common name: it must be the name the
  // node sends as from_server.
  if (const std::string cn = CommonName(pair->cert.get()); cn != server_name) {
    return absl::InvalidArgumentError(
        fmt::format("{} has common name '{}', not this server's name '{}'",
                    cert_file.Describe(), cn, server_name));
  }
  return material;
}

absl::StatusOr<GatewayTlsMaterial> LoadGatewayTlsMaterial(
    const v1::HerdConfig& config, std::string_view server_name,
    const std::filesystem::path& base_dir) {
  const v1::GatewayTlsConfig& gateway = config.gateway_tls();
  const TlsFiles files(server_name, base_dir);
  // Without a certificate of its own, the gateway shows the node's.
  const bool own_pair = !gateway.cert_path().empty() ||
                        !gateway.key_path().empty() || !config.has_tls();
  const v1::TlsConfig& node = config.tls();
  const std::string& cert_path =
      own_pair ? gateway.cert_path() : node.cert_path();
  const std::string& key_path = own_pair ? gateway.key_path() : node.key_path();
  const std::string section = own_pair ? "gateway_tls" : "tls";
  const TlsFile ca_file = files.File("gateway_tls.client_ca_cert_path",
                                     gateway.client_ca_cert_path());
  const TlsFile cert_file = files.File(section + ".cert_path", cert_path);
  const TlsFile key_file = files.File(section + ".key_path", key_path);

  GatewayTlsMaterial material;
  material.bind_client_id = gateway.bind_client_id();
  if (absl::Status read =
          ReadTlsFiles({{&ca_file, &material.client_ca_pem},
                        {&cert_file, &material.cert_chain_pem},
                        {&key_file, &material.private_key_pem}});
      !read.ok()) {
    return read;
  }
  if (absl::StatusOr<X509Ptr> ca =
          ParseCertificate(material.client_ca_pem, ca_file);
      !ca.ok()) {
    return ca.status();
  }
  if (absl::StatusOr<KeyPair> pair =
          ParseKeyPair(material.cert_chain_pem, cert_file,
                       material.private_key_pem, key_file);
      !pair.ok()) {
    return pair.status();
  }
  return material;
}

}  // namespace herd
