#include "gateway/client_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "boost/asio/buffer.hpp"
#include "common/openssl_ptr.h"
#include "fmt/format.h"

namespace herd::gateway {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

using BioPtr = OpenSslPtr<BIO, BIO_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;
using GeneralNamesPtr = OpenSslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;

// Whether text could be a client id (protocol.h: no whitespace, no
// control characters, not empty).
bool CouldBeClientId(std::string_view text) {
  return !text.empty() && std::none_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= ' ' || byte == 0x7f;
  });
}

std::string_view View(const ASN1_STRING* text) {
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
          static_cast<size_t>(ASN1_STRING_length(text))};
}

// Adds every certificate of pem to the context's trust store and to the
// CA names it sends in its CertificateRequest (so a client holding several
// certificates picks the right one). Returns how many it found.
int AddClientCas(SSL_CTX* context, std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return 0;
  int added = 0;
  while (
      X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    if (X509_STORE_add_cert(SSL_CTX_get_cert_store(context), cert.get()) != 1 ||
        SSL_CTX_add_client_CA(context, cert.get()) != 1) {
      return 0;
    }
    ++added;
  }
  ERR_clear_error();  // the end of the PEM text reads as an error
  return added;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ssl::context>> MakeClientTlsContext(
    std::string_view cert_chain_pem, std::string_view private_key_pem,
    std::string_view client_ca_pem) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  const auto refused = [](std::string_view what,
                          const boost::system::error_code& ec) {
    return absl::InvalidArgumentError(
        fmt::format("TLS gateway: {}: {}", what, ec.message()));
  };
  boost::system::error_code ec;
  // Renegotiation is off: a client could otherwise make the server redo
  // the expensive part of a handshake as often as it likes.
  context->set_options(ssl::context::default_workarounds |
                           ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                           SSL_OP_NO_RENEGOTIATION,
                       ec);
  if (ec) return refused("cannot set options", ec);
  if (context->use_certificate_chain(
          asio::buffer(cert_chain_pem.data(), cert_chain_pem.size()), ec);
      ec) {
    return refused("the gateway's certificate", ec);
  }
  if (context->use_private_key(
          asio::buffer(private_key_pem.data(), private_key_pem.size()),
          ssl::context::pem, ec);
      ec) {
    return refused("the gateway's private key", ec);
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "TLS gateway: the private key is not the certificate's");
  }
  if (AddClientCas(native, client_ca_pem) == 0) {
    return absl::InvalidArgumentError(
        "TLS gateway: the client CA file holds no PEM certificate");
  }
  context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert,
                           ec);
  if (ec) return refused("cannot require client certificates", ec);
  return context;
}

std::vector<std::string> CertifiedClientIds(SSL* ssl) {
  std::vector<std::string> ids;
  X509Ptr cert(SSL_get1_peer_certificate(ssl));
  if (cert == nullptr) return ids;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  bool has_name_entries = false;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get());
       ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    const ASN1_STRING* text = nullptr;
    if (name->type == GEN_DNS) text = name->d.dNSName;
    if (name->type == GEN_URI) text = name->d.uniformResourceIdentifier;
    if (text == nullptr) continue;
    has_name_entries = true;
    if (CouldBeClientId(View(text))) ids.emplace_back(View(text));
  }
  if (has_name_entries) return ids;
  // No DNS or URI name: the common name (every one the subject has).
  const X509_NAME* subject = X509_get_subject_name(cert.get());
  for (int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
       at >= 0; at = X509_NAME_get_index_by_NID(subject, NID_commonName, at)) {
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(
        &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)));
    if (length < 0) continue;
    const std::string text(reinterpret_cast<const char*>(utf8),
                           static_cast<size_t>(length));
    OPENSSL_free(utf8);
    if (CouldBeClientId(text)) ids.push_back(text);
  }
  return ids;
}

}  // namespace herd::gateway
