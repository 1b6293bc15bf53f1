// RAII owners of OpenSSL objects: a std::unique_ptr that frees with the
// object's own free function, e.g. OpenSslPtr<X509, X509_free>. Shared by
// the node's TLS file checks and the gateway's TLS listener.
#ifndef HERD_COMMON_OPENSSL_PTR_H_
#define HERD_COMMON_OPENSSL_PTR_H_

#include <memory>

namespace herd {

template <auto Free>
struct OpenSslFree {
  template <typename T>
  void operator()(T* object) const {
    Free(object);
  }
};

template <typename T, auto Free>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree<Free>>;

}  // namespace herd

#endif  // HERD_COMMON_OPENSSL_PTR_H_
