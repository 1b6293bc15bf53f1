#include "herdnode/places/http_post_client.h"

#include <openssl/ssl.h>

#include <exception>
#include <optional>

#include "absl/strings/str_cat.h"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/redirect_error.hpp"
#include "boost/asio/ssl/host_name_verification.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/core/tcp_stream.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl/ssl_stream.hpp"

namespace herd::places {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;

constexpr auto kAwait = asio::use_awaitable;

absl::Status NetError(std::string_view step, const error_code& ec) {
  return absl::UnavailableError(
      absl::StrCat(std::string(step), ": ", ec.message()));
}

template <typename Stream>
asio::awaitable<error_code> WriteThenRead(
    Stream& stream, http::request<http::string_body>& req,
    http::response_parser<http::string_body>& parser) {
  error_code ec;
  co_await http::async_write(stream, req, asio::redirect_error(kAwait, ec));
  if (ec) co_return ec;
  beast::flat_buffer buffer;
  co_await http::async_read(stream, buffer, parser,
                            asio::redirect_error(kAwait, ec));
  co_return ec;
}

}  // namespace

absl::StatusOr<HttpEndpoint> ParseBaseUrl(std::string_view url) {
  HttpEndpoint ep;
  std::string_view rest;
  if (url.starts_with("https://")) {
    ep.tls = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "base URL \"", std::string(url), "\" is not http:// or https://"));
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) ep.path_prefix = rest.substr(slash);
  while (!ep.path_prefix.empty() && ep.path_prefix.back() == '/') {
    ep.path_prefix.pop_back();
  }
  ep.port = ep.tls ? "443" : "80";
  if (authority.starts_with('[')) {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("base URL \"", std::string(url), "\": bad IPv6 host"));
    }
    ep.host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (authority.starts_with(':')) ep.port = authority.substr(1);
  } else if (const size_t colon = authority.rfind(':');
             colon != std::string_view::npos) {
    ep.host = authority.substr(0, colon);
    ep.port = authority.substr(colon + 1);
  } else {
    ep.host = authority;
  }
  if (ep.host.empty() || ep.port.empty() ||
      ep.port.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("base URL \"", std::string(url), "\": bad host or port"));
  }
  return ep;
}

// One request: its sockets, its deadline and its caller's callback. Lives on
// the worker thread only.
struct HttpPostClient::Exchange {
  Exchange(asio::io_context& io, asio::ssl::context& tls_ctx, bool tls)
      : resolver(io), deadline(io) {
    if (tls) {
      secure.emplace(io, tls_ctx);
    } else {
      plain.emplace(io);
    }
  }

  beast::tcp_stream& Lowest() {
    return secure ? beast::get_lowest_layer(*secure) : *plain;
  }

  // Makes every pending and later operation of this exchange fail at once.
  void Abort() {
    resolver.cancel();
    Lowest().close();
  }

  std::string target;
  Headers headers;
  std::string body;
  std::chrono::milliseconds timeout{0};
  Callback done;

  tcp::resolver resolver;
  asio::steady_timer deadline;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  bool timed_out = false;
};

absl::StatusOr<std::unique_ptr<HttpPostClient>> HttpPostClient::Create(
    std::string_view base_url) {
  absl::StatusOr<HttpEndpoint> endpoint = ParseBaseUrl(base_url);
  if (!endpoint.ok()) return endpoint.status();
  return std::make_unique<HttpPostClient>(*std::move(endpoint));
}

HttpPostClient::HttpPostClient(HttpEndpoint endpoint)
    : endpoint_(std::move(endpoint)),
      tls_(asio::ssl::context::tls_client),
      work_(asio::make_work_guard(io_)) {
  if (endpoint_.tls) {
    tls_.set_default_verify_paths();
    tls_.set_verify_mode(asio::ssl::verify_peer);
    tls_.set_verify_callback(asio::ssl::host_name_verification(endpoint_.host));
  }
  worker_ = std::thread([this] { io_.run(); });
}

HttpPostClient::~HttpPostClient() {
  asio::post(io_, [this] {
    stopping_ = true;
    for (const std::shared_ptr<Exchange>& ex : live_) ex->Abort();
  });
  work_.reset();
  worker_.join();
}

void HttpPostClient::Post(std::string_view path, Headers headers,
                          std::string body, std::chrono::milliseconds timeout,
                          Callback done) {
  if (in_flight_.fetch_add(1) >= kMaxInFlight) {
    in_flight_.fetch_sub(1);
    std::move(done)(absl::ResourceExhaustedError(
        absl::StrCat("more than ", kMaxInFlight, " HTTP requests to ",
                     endpoint_.host, " in flight")));
    return;
  }
  auto ex = std::make_shared<Exchange>(io_, tls_, endpoint_.tls);
  ex->target = absl::StrCat(endpoint_.path_prefix, std::string(path));
  ex->headers = std::move(headers);
  ex->body = std::move(body);
  ex->timeout = timeout;
  ex->done = std::move(done);
  asio::co_spawn(io_, Run(std::move(ex)), [](const std::exception_ptr&) {
    // Run catches everything itself; nothing can arrive here.
  });
}

asio::awaitable<void> HttpPostClient::Run(std::shared_ptr<Exchange> ex) {
  absl::StatusOr<HttpResponse> result =
      absl::CancelledError("HTTP client shutting down");
  if (!stopping_) {
    live_.insert(ex);
    ex->deadline.expires_after(ex->timeout);
    ex->deadline.async_wait([ex](const error_code& ec) {
      if (!ec) {
        ex->timed_out = true;
        ex->Abort();
      }
    });
    try {
      result = co_await Talk(*ex);
    } catch (const std::exception& e) {
      result = absl::InternalError(absl::StrCat("HTTP exchange: ", e.what()));
    }
    ex->deadline.cancel();
    live_.erase(ex);
    if (ex->timed_out) {
      result = absl::DeadlineExceededError(
          absl::StrCat("POST ", endpoint_.host, ":", endpoint_.port, ex->target,
                       " timed out after ", ex->timeout.count(), " ms"));
    } else if (stopping_ && !result.ok()) {
      result = absl::CancelledError("HTTP client shutting down");
    }
  }
  in_flight_.fetch_sub(1);
  std::move(ex->done)(std::move(result));
}

asio::awaitable<absl::StatusOr<HttpResponse>> HttpPostClient::Talk(
    Exchange& ex) {
  error_code ec;
  const std::string where = absl::StrCat(endpoint_.host, ":", endpoint_.port);
  const auto endpoints = co_await ex.resolver.async_resolve(
      endpoint_.host, endpoint_.port, asio::redirect_error(kAwait, ec));
  if (ec) co_return NetError(absl::StrCat("resolve ", endpoint_.host), ec);
  co_await ex.Lowest().async_connect(endpoints,
                                     asio::redirect_error(kAwait, ec));
  if (ec) co_return NetError(absl::StrCat("connect ", where), ec);

  if (ex.secure) {
    // SNI: the server picks its certificate by the name we ask for. (The
    // SSL_set_tlsext_host_name macro expands to this, with a C cast.)
    if (SSL_ctrl(ex.secure->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                 TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(endpoint_.host.c_str())) != 1) {
      co_return absl::InternalError("cannot set TLS SNI host name");
    }
    co_await ex.secure->async_handshake(asio::ssl::stream_base::client,
                                        asio::redirect_error(kAwait, ec));
    if (ec) co_return NetError(absl::StrCat("TLS handshake with ", where), ec);
  }

  http::request<http::string_body> req{http::verb::post, ex.target, 11};
  const bool default_port = endpoint_.port == (ex.secure ? "443" : "80");
  req.set(http::field::host, default_port ? endpoint_.host : where);
  req.set(http::field::user_agent, "herd-places/1");
  for (const auto& [name, value] : ex.headers) req.set(name, value);
  req.keep_alive(false);
  req.body() = std::move(ex.body);
  req.prepare_payload();

  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  // The same call on two stream types. (Not a conditional expression: one
  // around co_await crashed when built with GCC 12.)
  if (ex.secure) {  // NOLINT(bugprone-branch-clone)
    ec = co_await WriteThenRead(*ex.secure, req, parser);
  } else {
    ec = co_await WriteThenRead(*ex.plain, req, parser);
  }
  if (ec) co_return NetError(absl::StrCat("HTTP exchange with ", where), ec);
  ex.Lowest().close();
  co_return HttpResponse{parser.get().result_int(),
                         std::move(parser.get().body())};
}

}  // namespace herd::places
