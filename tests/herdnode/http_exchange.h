// One HTTP/1.1 exchange over a real loopback socket, for tests of the node's
// HTTP listener and the routes it serves.
#ifndef HERD_TESTS_HERDNODE_HTTP_EXCHANGE_H_
#define HERD_TESTS_HERDNODE_HTTP_EXCHANGE_H_

#include <cstdint>
#include <string>

#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read.hpp"
#include "boost/asio/write.hpp"

namespace herd::testing {

// Sends request (raw bytes) to 127.0.0.1:port and returns everything the
// server sends until it closes (so requests should ask for
// "Connection: close").
inline std::string HttpExchange(uint16_t port, const std::string& request) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  boost::asio::write(socket, boost::asio::buffer(request));
  std::string response;
  boost::system::error_code ec;
  boost::asio::read(socket, boost::asio::dynamic_buffer(response), ec);
  return response;
}

// A GET of path, closing after the answer.
inline std::string HttpGet(uint16_t port, const std::string& path) {
  return HttpExchange(port, "GET " + path +
                                " HTTP/1.1\r\nHost: h\r\nConnection: "
                                "close\r\n\r\n");
}

}  // namespace herd::testing

#endif  // HERD_TESTS_HERDNODE_HTTP_EXCHANGE_H_
