// A one-shot asynchronous HTTP(S) POST client on its own io_context and
// worker thread, so that waiting on a slow remote never occupies the caller's
// threads (the gRPC service's or the gateway's event loop).
#ifndef HERD_HERDNODE_PLACES_HTTP_POST_CLIENT_H_
#define HERD_HERDNODE_PLACES_HTTP_POST_CLIENT_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "boost/asio/awaitable.hpp"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ssl/context.hpp"

namespace herd::places {

// scheme://host[:port][/path-prefix], scheme http or https.
struct HttpEndpoint {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path_prefix;  // "" or "/x/y", no trailing slash
};

absl::StatusOr<HttpEndpoint> ParseBaseUrl(std::string_view url);

struct HttpResponse {
  unsigned status = 0;
  std::string body;
};

class HttpPostClient {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  using Callback = absl::AnyInvocable<void(absl::StatusOr<HttpResponse>) &&>;

  // Requests in flight at once; more are refused at once rather than queued
  // without bound.
  static constexpr int kMaxInFlight = 256;
  // Larger responses are refused (a searchNearby answer is a few KiB).
  static constexpr size_t kMaxResponseBytes = 4 << 20;

  // https verifies the server's certificate against the system store and its
  // host name, and sends SNI.
  static absl::StatusOr<std::unique_ptr<HttpPostClient>> Create(
      std::string_view base_url);

  explicit HttpPostClient(HttpEndpoint endpoint);
  // Aborts requests still in flight (their callbacks get CANCELLED) and joins
  // the worker thread.
  ~HttpPostClient();
  HttpPostClient(const HttpPostClient&) = delete;
  HttpPostClient& operator=(const HttpPostClient&) = delete;

  // POSTs body to the endpoint's path_prefix + path and calls done exactly
  // once, on the worker thread (or at once on the calling thread when
  // refused): with the response whatever its HTTP status, or with an error
  // for a failure to resolve, connect, handshake, send or read, or when the
  // whole exchange takes longer than timeout (DEADLINE_EXCEEDED).
  void Post(std::string_view path, Headers headers, std::string body,
            std::chrono::milliseconds timeout, Callback done);

  const HttpEndpoint& endpoint() const { return endpoint_; }

 private:
  struct Exchange;

  boost::asio::awaitable<void> Run(std::shared_ptr<Exchange> ex);
  boost::asio::awaitable<absl::StatusOr<HttpResponse>> Talk(Exchange& ex);

  const HttpEndpoint endpoint_;
  boost::asio::io_context io_;
  boost::asio::ssl::context tls_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_;
  std::atomic<int> in_flight_{0};
  // Touched only on the worker thread.
  bool stopping_ = false;
  std::set<std::shared_ptr<Exchange>> live_;
  // Last, so it starts once everything it uses exists.
  std::thread worker_;
};

}  // namespace herd::places

#endif  // HERD_HERDNODE_PLACES_HTTP_POST_CLIENT_H_
