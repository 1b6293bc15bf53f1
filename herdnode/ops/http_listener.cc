#include "herdnode/ops/http_listener.h"

#include <atomic>
#include <chrono>
#include <list>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/detached.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/redirect_error.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "common/listen_address.h"
#include "common/status_text.h"

namespace herd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// What the first read of a request asks for: a scraper's or a browser's
// whole head, usually. Not a limit (max_head_bytes is).
constexpr size_t kFirstReadBytes = 4096;
// After a failed accept (out of file descriptors, say) the next waits this
// long: the pending connection stays in the backlog, so retrying at once
// would spin the listener's thread.
constexpr std::chrono::milliseconds kAcceptRetryDelay(100);

auto Redirect(beast::error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

http::response<http::string_body> MakeResponse(
    http::status status, const std::string& content_type, std::string body,
    unsigned version, bool keep_alive, bool with_body) {
  http::response<http::string_body> response(status, version);
  response.set(http::field::server, "herdnode");
  response.set(http::field::content_type, content_type);
  response.keep_alive(keep_alive);
  if (with_body) response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

http::response<http::string_body> Reply(
    http::status status, const std::string& content_type, std::string body,
    const http::request<http::string_body>& request) {
  return MakeResponse(status, content_type, std::move(body), request.version(),
                      request.keep_alive(),
                      request.method() != http::verb::head);
}

std::string PeerOf(const tcp::socket& socket) {
  beast::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return "an unknown peer";
  return FormatEndpoint(peer);
}

}  // namespace

class HttpListener::Impl {
 public:
  Impl(HttpRoutes routes, std::shared_ptr<spdlog::logger> log,
       HttpLimits limits)
      : routes_(std::move(routes)), log_(std::move(log)), limits_(limits) {}

  absl::Status Bind(const std::string& address) {
    const absl::StatusOr<tcp::endpoint> endpoint =
        ResolveListenAddress(address, io_);
    if (!endpoint.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("http_address: ", StatusMessage(endpoint.status())));
    }
    beast::error_code ec;
    if (acceptor_.open(endpoint->protocol(), ec); !ec) {
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
      acceptor_.bind(*endpoint, ec);
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
    return {.open = open_.load(std::memory_order_relaxed),
            .idle = idle_count_.load(std::memory_order_relaxed)};
  }

  void Stop() {
    if (!thread_.joinable()) return;
    // Pending reads and writes are abandoned; their sockets close when the
    // io_context destroys the coroutines that own them.
    io_.stop();
    thread_.join();
  }

 private:
  // One accepted connection, on the frame of the coroutine serving it.
  struct Connection {
    explicit Connection(tcp::socket socket)
        : peer(PeerOf(socket)), stream(std::move(socket)) {}
    const std::string peer;
    beast::tcp_stream stream;
    bool idle = false;     // then idle_entry is its place in idle_
    bool evicted = false;  // closed to make room, no longer counted
    std::list<Connection*>::iterator idle_entry;
  };

  // Counts a connection while its coroutine lives, however that ends
  // (including the io_context destroying it at Stop).
  class Counted {
   public:
    Counted(Impl& impl, Connection& connection)
        : impl_(impl), connection_(connection) {
      impl_.open_.fetch_add(1, std::memory_order_relaxed);
    }
    ~Counted() {
      impl_.SetIdle(connection_, false);
      if (!connection_.evicted) {
        impl_.open_.fetch_sub(1, std::memory_order_relaxed);
      }
    }
    Counted(const Counted&) = delete;
    Counted& operator=(const Counted&) = delete;

   private:
    Impl& impl_;
    Connection& connection_;
  };

  asio::awaitable<void> AcceptLoop() {
    asio::steady_timer retry(io_);
    for (;;) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(Redirect(ec));
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
        co_return;
      }
      if (ec) {
        log_->warn("http accept failed: {}", ec.message());
        retry.expires_after(kAcceptRetryDelay);
        co_await retry.async_wait(Redirect(ec));
        continue;
      }
      if (open_.load(std::memory_order_relaxed) >= limits_.max_connections &&
          !CloseLongestIdle()) {
        log_->warn(
            "http connection from {} refused: the limit of {} connections "
            "is reached and all are mid-request",
            PeerOf(socket), limits_.max_connections);
        continue;  // the socket closes here
      }
      asio::co_spawn(io_, Serve(std::move(socket)), asio::detached);
    }
  }

  // Makes room for a new connection by closing the one idle the longest.
  // False if none is idle.
  bool CloseLongestIdle() {
    if (idle_.empty()) return false;
    Connection& oldest = *idle_.front();
    SetIdle(oldest, false);
    oldest.evicted = true;
    open_.fetch_sub(1, std::memory_order_relaxed);
    log_->info(
        "http connection from {} closed, idle the longest, to admit a new "
        "one: the limit of {} connections is reached",
        oldest.peer, limits_.max_connections);
    // Its pending read completes with an error and its coroutine ends.
    oldest.stream.close();
    return true;
  }

  void SetIdle(Connection& connection, bool idle) {
    if (connection.evicted || connection.idle == idle) return;
    if (idle) {
      connection.idle_entry = idle_.insert(idle_.end(), &connection);
    } else {
      idle_.erase(connection.idle_entry);
    }
    connection.idle = idle;
    idle_count_.store(static_cast<int>(idle_.size()),
                      std::memory_order_relaxed);
  }

  // One connection: requests in turn, keep-alive if the client asks.
  asio::awaitable<void> Serve(tcp::socket socket) {
    Connection connection(std::move(socket));
    Counted counted(*this, connection);
    beast::tcp_stream& stream = connection.stream;
    beast::flat_buffer buffer;
    for (bool first = true;; first = false) {
      beast::error_code ec;
      // A new connection has head_timeout from accept for its whole head; a
      // kept-alive one idle_timeout to start the next request, then
      // head_timeout from its first byte (or, pipelined, from now).
      const bool kept_alive = !first && buffer.size() == 0;
      stream.expires_after(kept_alive ? limits_.idle_timeout
                                      : limits_.head_timeout);
      if (buffer.size() == 0) {
        SetIdle(connection, true);
        const size_t n = co_await stream.async_read_some(
            buffer.prepare(kFirstReadBytes), Redirect(ec));
        SetIdle(connection, false);
        buffer.commit(n);
        if (ec) {
          if (ec == beast::error::timeout && kept_alive) {
            log_->info("http connection from {} closed: idle for {} ms",
                       connection.peer, limits_.idle_timeout.count());
          } else if (ec == beast::error::timeout) {
            LogNoHead(connection);
          }
          break;
        }
        if (kept_alive) stream.expires_after(limits_.head_timeout);
      }

      http::request_parser<http::string_body> parser;
      parser.header_limit(limits_.max_head_bytes);
      parser.body_limit(limits_.max_body_bytes);
      co_await http::async_read_header(stream, buffer, parser, Redirect(ec));
      if (ec == http::error::header_limit) {
        log_->info("http connection from {}: request head over {} bytes",
                   connection.peer, limits_.max_head_bytes);
        co_await CloseWithError(
            stream, http::status::request_header_fields_too_large,
            absl::StrCat("request head over ", limits_.max_head_bytes,
                         " bytes\n"));
        co_return;
      }
      if (ec) {
        if (ec == beast::error::timeout) LogNoHead(connection);
        break;  // closed or not HTTP: nothing to answer
      }
      if (!parser.is_done()) {
        stream.expires_after(limits_.body_timeout);
        co_await http::async_read(stream, buffer, parser, Redirect(ec));
        if (ec == beast::error::timeout) {
          log_->info(
              "http connection from {} closed: no complete request body "
              "within {} ms",
              connection.peer, limits_.body_timeout.count());
        }
        if (ec) break;  // closed, timed out or over the body limit
      }

      const http::request<http::string_body> request = parser.release();
      http::response<http::string_body> response = Respond(request);
      stream.expires_after(limits_.write_timeout);
      co_await http::async_write(stream, response, Redirect(ec));
      if (ec == beast::error::timeout) {
        log_->info(
            "http connection from {} closed: response not written within {} "
            "ms",
            connection.peer, limits_.write_timeout.count());
      }
      if (ec || !response.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  void LogNoHead(const Connection& connection) const {
    log_->info(
        "http connection from {} closed: no complete request head within {} "
        "ms",
        connection.peer, limits_.head_timeout.count());
  }

  // Answers status and closes. What the client sent after the part read is
  // read and dropped for linger_timeout first: closing a socket with unread
  // bytes resets the connection, and a reset can destroy the response before
  // the client reads it.
  asio::awaitable<void> CloseWithError(beast::tcp_stream& stream,
                                       http::status status, std::string text) {
    http::response<http::string_body> response =
        MakeResponse(status, "text/plain; charset=utf-8", std::move(text),
                     /*version=*/11, /*keep_alive=*/false, /*with_body=*/true);
    beast::error_code ec;
    stream.expires_after(limits_.write_timeout);
    co_await http::async_write(stream, response, Redirect(ec));
    if (ec) co_return;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(limits_.linger_timeout);
    // On the heap, not in the coroutine frame: GCC 12 at -O1 misreads a
    // frame this large as allocated and freed by mismatched functions
    // (-Wmismatched-new-delete in Asio's frame allocator).
    std::vector<char> dropped(4096);
    while (!ec) {
      co_await stream.async_read_some(asio::buffer(dropped), Redirect(ec));
    }
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
  // Only the io_context thread touches these; the counts are atomic so that
  // Connections() can read them anywhere. Declared before io_: destroying
  // io_ destroys the coroutines still pending, whose Counted use them.
  std::list<Connection*> idle_;  // the one idle the longest first
  std::atomic<int> open_ = 0;    // counted connections (not the evicted)
  std::atomic<int> idle_count_ = 0;
  asio::io_context io_{1};
  tcp::acceptor acceptor_{io_};
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
