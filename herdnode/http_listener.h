// The node's HTTP/1.1 listener (Boost.Beast) on http_address: GET /metrics
// and the status page (herdnode/status/). It runs on its own io_context
// thread, so a slow scraper never touches the gRPC or gateway threads.
#ifndef HERD_HERDNODE_HTTP_LISTENER_H_
#define HERD_HERDNODE_HTTP_LISTENER_H_

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
// (README.md, Limits); tests shorten them so that deadlines pass in
// milliseconds.
struct HttpLimits {
  // A connection that says nothing for this long is closed.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(30);
  // Connections at once; beyond this, new ones are closed at once so a flood
  // of idle connections cannot hold the listener's memory.
  int max_connections = 64;
  // Requests are GETs: any body beyond this is refused.
  uint64_t max_body_bytes = 4096;
};

// Connections of a listener, for tests and operators.
struct HttpConnectionCounts {
  int open = 0;
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

#endif  // HERD_HERDNODE_HTTP_LISTENER_H_
