// The node's HTTP/1.1 listener (Boost.Beast) on http_address: GET /metrics
// and the status page (herdnode/ops/status/). It runs on its own io_context
// thread, so a slow scraper never touches the gRPC or gateway threads.
#ifndef HERD_HERDNODE_OPS_HTTP_LISTENER_H_
#define HERD_HERDNODE_OPS_HTTP_LISTENER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "spdlog/logger.h"

namespace herd {

struct HttpReply {
  std::string content_type;
  std::string body;
};

// Path (exact match, query string ignored) to the handler making its
// reply. Handlers run on the listener's thread; they must not block long.
using HttpRoutes =
    std::map<std::string, std::function<HttpReply()>, std::less<>>;

// The listener's limits, all in one place. The defaults are every node's
// (listed in README.md, Limits); tests shorten the deadlines so that they
// pass in milliseconds.
//
// A connection is idle while no byte of its next request has arrived: just
// accepted, or kept alive after a response. Idle connections cost the
// listener nothing but a socket, so at max_connections the one idle the
// longest is closed to admit a new one; only when every connection is in the
// middle of a request is the new one refused. The deadlines bound how long a
// connection stays in the middle of one request: about head_timeout +
// body_timeout + write_timeout.
struct HttpLimits {
  // From accept, or from the first byte of a kept-alive connection's next
  // request, to the end of the request head. A scraper sends its head in one
  // packet; a client dribbling it (slowloris) holds a busy slot this long.
  std::chrono::milliseconds head_timeout = std::chrono::seconds(5);
  // From the end of the head to the end of the body (GETs have none; this
  // only bounds a client announcing one and not sending it).
  std::chrono::milliseconds body_timeout = std::chrono::seconds(5);
  // A kept-alive connection waits this long for its next request. Longer
  // than a typical 15 s scrape interval, so a scraper keeps its connection;
  // at the cap an idle connection is closed anyway, whatever its age.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(30);
  // To write a response: a client that does not read it is closed rather
  // than holding a busy slot.
  std::chrono::milliseconds write_timeout = std::chrono::seconds(10);
  // After an error response that closes the connection (431), the rest of
  // what the client sent is read and dropped this long, so that closing with
  // unread bytes does not reset the connection before the client has read
  // the response.
  std::chrono::milliseconds linger_timeout = std::chrono::seconds(1);
  // Connections at once. Enough for every scraper and browser tab of real
  // use; it bounds memory (a connection holds at most about
  // max_head_bytes + max_body_bytes of buffers) and file descriptors.
  int max_connections = 1024;
  // The request line and header fields. Beast's default; browsers send 1 to
  // 2 KiB. More gets 431 Request Header Fields Too Large and a close.
  uint32_t max_head_bytes = 8192;
  // Requests are GETs: any body beyond this closes the connection.
  uint64_t max_body_bytes = 4096;
};

// Connections of a listener, for tests and operators.
struct HttpConnectionCounts {
  int open = 0;
  int idle = 0;  // of open: no byte of a request received yet
};

class HttpListener {
 public:
  // Binds address (host:port; port 0 picks a free one) and starts serving.
  // A bad address or a port in use is an error naming the address.
  static absl::StatusOr<std::unique_ptr<HttpListener>> Start(
      const std::string& address, HttpRoutes routes,
      std::shared_ptr<spdlog::logger> log, HttpLimits limits = {});
  ~HttpListener();  // Stops.

  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  uint16_t BoundPort() const;
  // From any thread; a snapshot, so it may be stale by the time it returns.
  HttpConnectionCounts Connections() const;
  // Closes the acceptor and every connection, joins the thread. Idempotent.
  void Stop();

 private:
  class Impl;
  explicit HttpListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace herd

#endif  // HERD_HERDNODE_OPS_HTTP_LISTENER_H_
