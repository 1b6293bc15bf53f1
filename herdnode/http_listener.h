// The node's HTTP/1.1 listener (Boost.Beast) on http_address: GET /metrics
// and the status page (herdnode/status/). It runs on its own io_context
// thread, so a slow scraper never touches the gRPC or gateway threads.
#ifndef HERD_HERDNODE_HTTP_LISTENER_H_
#define HERD_HERDNODE_HTTP_LISTENER_H_

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

class HttpListener {
 public:
  // Binds address (host:port; port 0 picks a free one) and starts serving.
  // A bad address or a port in use is an error naming the address.
  static absl::StatusOr<std::unique_ptr<HttpListener>> Start(
      const std::string& address, HttpRoutes routes,
      std::shared_ptr<spdlog::logger> log);
  ~HttpListener();  // Stops.

  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  uint16_t BoundPort() const;
  // Closes the acceptor and every connection, joins the thread. Idempotent.
  void Stop();

 private:
  class Impl;
  explicit HttpListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace herd

#endif  // HERD_HERDNODE_HTTP_LISTENER_H_
