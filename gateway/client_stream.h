// A client connection's byte stream: a TCP socket, or TLS over one. Both
// listeners of the gateway hand their connections to the same Connection
// code; this is the only place that knows which kind it has. It models
// Asio's AsyncReadStream and AsyncWriteStream, so async_read_until and
// async_write take it as they take a socket.
#ifndef HERD_GATEWAY_CLIENT_STREAM_H_
#define HERD_GATEWAY_CLIENT_STREAM_H_

#include <utility>
#include <variant>

#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl/context.hpp"
#include "boost/asio/ssl/stream.hpp"

namespace herd::gateway {

class ClientStream {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using TlsStream = boost::asio::ssl::stream<Socket>;
  using executor_type = Socket::executor_type;

  // tls: the listener's TLS context, or null for plaintext. The TLS
  // handshake is the caller's to run (tls_stream()->async_handshake).
  ClientStream(Socket socket, boost::asio::ssl::context* tls)
      : stream_(tls == nullptr
                    ? Variant(std::in_place_type<Socket>, std::move(socket))
                    : Variant(std::in_place_type<TlsStream>, std::move(socket),
                              *tls)) {}

  // The TLS stream, or null for a plaintext connection.
  TlsStream* tls_stream() { return std::get_if<TlsStream>(&stream_); }

  // The TCP socket underneath (closing, shutting down, its endpoints).
  Socket& socket() {
    if (TlsStream* tls = tls_stream()) return tls->next_layer();
    return std::get<Socket>(stream_);
  }

  executor_type get_executor() { return socket().get_executor(); }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return std::visit(
        [&](auto& stream) {
          return stream.async_read_some(buffers, std::forward<Token>(token));
        },
        stream_);
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return std::visit(
        [&](auto& stream) {
          return stream.async_write_some(buffers, std::forward<Token>(token));
        },
        stream_);
  }

 private:
  // std::variant and not a pointer to a base: the plaintext path (the
  // classic protocol, the herd's hot path) pays one branch, no indirection
  // or allocation.
  using Variant = std::variant<Socket, TlsStream>;
  Variant stream_;
};

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_CLIENT_STREAM_H_
