#include "herdnode/http_listener.h"

#include <atomic>
#include <chrono>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/detached.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/redirect_error.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace herd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

http::response<http::string_body> Reply(
    http::status status, std::string content_type, std::string body,
    const http::request<http::string_body>& request) {
  http::response<http::string_body> response(status, request.version());
  response.set(http::field::server, "herdnode");
  response.set(http::field::content_type, content_type);
  response.keep_alive(request.keep_alive());
  if (request.method() != http::verb::head) response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

}  // namespace

class HttpListener::Impl {
 public:
  Impl(HttpRoutes routes, std::shared_ptr<spdlog::logger> log,
       HttpLimits limits)
      : routes_(std::move(routes)), log_(std::move(log)), limits_(limits) {}

  absl::Status Bind(const std::string& address) {
    // Like ParseHostPort (which checked the herd file), but port 0 too.
    const size_t colon = address.rfind(':');
    uint32_t port = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(address.substr(colon + 1), &port) || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("http_address '", address, "' is not host:port"));
    }
    std::string host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    beast::error_code ec;
    tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec || endpoints.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "http_address '", address, "': cannot resolve: ", ec.message()));
    }
    const tcp::endpoint endpoint = endpoints.begin()->endpoint();
    if (acceptor_.open(endpoint.protocol(), ec); !ec) {
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
      acceptor_.bind(endpoint, ec);
    }
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat("cannot listen for HTTP on ",
                                                 address, ": ", ec.message()));
    }
    return absl::OkStatus();
  }

  void Run() {
    asio::co_spawn(io_, AcceptLoop(), asio::detached);
    thread_ = std::jthread([this] { io_.run(); });
  }

  uint16_t BoundPort() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

  HttpConnectionCounts Connections() const {
    return {.open = connections_.load(std::memory_order_relaxed)};
  }

  void Stop() {
    if (!thread_.joinable()) return;
    // Pending reads and writes are abandoned; their sockets close when the
    // io_context destroys the coroutines that own them.
    io_.stop();
    thread_.join();
  }

 private:
  asio::awaitable<void> AcceptLoop() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(
          asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
        co_return;
      }
      if (ec) {
        log_->warn("http accept failed: {}", ec.message());
        continue;
      }
      if (connections_ >= limits_.max_connections) {
        log_->warn("http connection refused: {} already open",
                   limits_.max_connections);
        continue;  // the socket closes here
      }
      asio::co_spawn(io_, Serve(beast::tcp_stream(std::move(socket))),
                     asio::detached);
    }
  }

  // One connection: requests in turn, keep-alive if the client asks.
  asio::awaitable<void> Serve(beast::tcp_stream stream) {
    ++connections_;
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(limits_.max_body_bytes);
      beast::error_code ec;
      stream.expires_after(limits_.idle_timeout);
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;  // closed, timed out or not HTTP: nothing to answer
      const http::request<http::string_body> request = parser.release();
      http::response<http::string_body> response = Respond(request);
      co_await http::async_write(stream, response,
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !response.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    --connections_;
  }

  http::response<http::string_body> Respond(
      const http::request<http::string_body>& request) const {
    if (request.method() != http::verb::get &&
        request.method() != http::verb::head) {
      auto response =
          Reply(http::status::method_not_allowed, "text/plain; charset=utf-8",
                "only GET and HEAD are served here\n", request);
      response.set(http::field::allow, "GET, HEAD");
      return response;
    }
    std::string_view path(request.target().data(), request.target().size());
    path = path.substr(0, path.find('?'));
    const auto route = routes_.find(path);
    if (route == routes_.end()) {
      return Reply(http::status::not_found, "text/plain; charset=utf-8",
                   absl::StrCat("no page at ", std::string(path), "\n"),
                   request);
    }
    HttpReply reply = route->second();
    return Reply(http::status::ok, reply.content_type, std::move(reply.body),
                 request);
  }

  const HttpRoutes routes_;
  const std::shared_ptr<spdlog::logger> log_;
  const HttpLimits limits_;
  asio::io_context io_{1};
  tcp::acceptor acceptor_{io_};
  // Only the io_context thread writes it; Connections() reads it anywhere.
  std::atomic<int> connections_ = 0;
  std::jthread thread_;
};

absl::StatusOr<std::unique_ptr<HttpListener>> HttpListener::Start(
    const std::string& address, HttpRoutes routes,
    std::shared_ptr<spdlog::logger> log, HttpLimits limits) {
  auto impl = std::make_unique<Impl>(std::move(routes), std::move(log), limits);
  if (absl::Status bound = impl->Bind(address); !bound.ok()) return bound;
  impl->Run();
  return std::unique_ptr<HttpListener>(new HttpListener(std::move(impl)));
}

HttpListener::HttpListener(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

HttpListener::~HttpListener() { Stop(); }

uint16_t HttpListener::BoundPort() const { return impl_->BoundPort(); }

HttpConnectionCounts HttpListener::Connections() const {
  return impl_->Connections();
}

void HttpListener::Stop() { impl_->Stop(); }

}  // namespace herd
