#include "gateway/gateway_server.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/status/statusor.h"
#include "boost/asio/buffer.hpp"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/detached.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/address.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/redirect_error.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "boost/asio/write.hpp"
#include "common/gateway_limits.h"
#include "common/listen_address.h"
#include "common/status_text.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "gateway/client_tls.h"
#include "gateway/connection.h"
#include "gateway/event_loops.h"
#include "gateway/node_client.h"
#include "gateway/report_batcher.h"

namespace herd::gateway {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

// How long an IAMAT that finds the node's stream idle waits for company
// (GatewayLimits.report_linger_us, 0 by default; see report_batcher.h).
std::chrono::microseconds ReportLinger(const v1::GatewayLimits& configured) {
  return std::chrono::microseconds(configured.report_linger_us());
}

// The trusted peers' addresses, normalized (IPv4-mapped ones unmapped), or
// which one is not an IP address.
absl::StatusOr<std::vector<asio::ip::address>> ParseTrustedPeers(
    const std::vector<std::string>& texts) {
  std::vector<asio::ip::address> addresses;
  for (const std::string& text : texts) {
    error_code ec;
    const asio::ip::address address = asio::ip::make_address(text, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          fmt::format("trusted peer address '{}' is not an IP address", text));
    }
    addresses.push_back(UnmappedAddress(address));
  }
  return addresses;
}

// After a failed accept (e.g. out of file descriptors), pause before the
// next one instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// How often IAMATs waiting on the node are checked against the deadline.
constexpr std::chrono::milliseconds kOverdueCheckInterval{500};

constexpr std::string_view kBusyReply = "? server busy: too many connections\n";

// Accepts a connection beyond max_connections only to say why it is closed.
asio::awaitable<void> RefuseBusy(tcp::socket socket, std::string peer,
                                 spdlog::logger* log) {
  log->warn("connection from {} refused: server busy", peer);
  error_code ec;
  co_await asio::async_write(socket, asio::buffer(kBusyReply),
                             asio::redirect_error(asio::use_awaitable, ec));
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

}  // namespace

// One listening socket of the gateway and what its connections get.
struct Listener {
  Listener(asio::io_context& context, std::string_view what)
      : kind(what), acceptor(context) {}

  const std::string kind;  // "plaintext", "TLS": for messages
  std::string address;     // as configured; empty: this listener is off
  tcp::acceptor acceptor;
  uint16_t port = 0;  // as bound
  // TLS: the context every connection's handshake uses; null: plaintext.
  std::unique_ptr<asio::ssl::context> tls;
  bool bind_client_id = false;
};

class GatewayServer::Impl {
 public:
  Impl(GatewayOptions options,
       const std::shared_ptr<grpc::Channel>& node_channel, GrpcPollers& pollers,
       std::shared_ptr<spdlog::logger> log)
      : options_(std::move(options)),
        log_(std::move(log)),
        node_(node_channel, pollers),
        reports_(node_channel, pollers, kNodeCallDeadline,
                 ReportLinger(options_.limits)),
        // Here, not in the body: loops_ needs the thread count.
        limits_(ResolveLimits(options_.limits)) {
    context_.node = &node_;
    context_.reports = &reports_;
    context_.log = log_.get();
    context_.registry = &registry_;
    context_.observer = options_.observer.get();
    plain_.address = options_.listen_address;
    tls_.address = options_.tls.listen_address;
    tls_.bind_client_id = options_.tls.bind_client_id;
  }

  absl::Status Start() {
    std::lock_guard lock(lifecycle_mutex_);
    if (started_) {
      return absl::FailedPreconditionError("gateway already started");
    }
    if (plain_.address.empty() && tls_.address.empty()) {
      return absl::InvalidArgumentError(
          "gateway has no listener: give a plaintext or a TLS address");
    }
    absl::StatusOr<std::vector<asio::ip::address>> trusted =
        ParseTrustedPeers(options_.trusted_peer_addresses);
    if (!trusted.ok()) return trusted.status();
    {
      std::lock_guard settings_lock(settings_mutex_);
      trusted_peers_ = *std::move(trusted);
    }
    if (!tls_.address.empty()) {
      absl::StatusOr<std::unique_ptr<asio::ssl::context>> tls =
          MakeClientTlsContext(options_.tls.cert_chain_pem,
                               options_.tls.private_key_pem,
                               options_.tls.client_ca_pem);
      if (!tls.ok()) return tls.status();
      tls_.tls = *std::move(tls);
    }
    for (Listener* listener : {&plain_, &tls_}) {
      if (listener->address.empty()) continue;
      if (absl::Status opened = Open(*listener); !opened.ok()) {
        error_code ignored;
        plain_.acceptor.close(ignored);  // the other may be open already
        return opened;
      }
    }
    started_ = true;
    for (Listener* listener : {&plain_, &tls_}) {
      if (!listener->acceptor.is_open()) continue;
      asio::co_spawn(loops_.first(), AcceptLoop(*listener), asio::detached);
      log_->info("gateway {} listening on {} ({}, port {})",
                 options_.server_name, listener->address, listener->kind,
                 listener->port);
    }
    asio::co_spawn(loops_.first(), ExpireOverdueReports(), asio::detached);
    loops_.Run(*log_);
    log_->info("gateway {}: {} threads{}", options_.server_name,
               limits_.threads,
               tls_.bind_client_id ? ", TLS IAMAT bound to certificates" : "");
    return absl::OkStatus();
  }

  uint16_t BoundPort() const { return plain_.port; }
  uint16_t TlsBoundPort() const { return tls_.port; }

  void Stop() {
    std::lock_guard lock(lifecycle_mutex_);
    if (!started_ || stopped_) return;
    stopped_ = true;
    loops_.Stop();
    // No event-loop thread runs now, so the acceptors and the connections
    // can be closed from here without racing their handlers.
    error_code ignored;
    plain_.acceptor.close(ignored);
    tls_.acceptor.close(ignored);
    for (const auto& connection : registry_.Snapshot()) {
      connection->CloseNow("server stopping");
    }
    reports_.Shutdown();
    node_.Shutdown();
    log_->info("gateway {} stopped", options_.server_name);
  }

  absl::Status CheckSettings(const GatewaySettings& settings) const {
    absl::StatusOr<std::vector<asio::ip::address>> trusted =
        ParseTrustedPeers(settings.trusted_peer_addresses);
    if (!trusted.ok()) return trusted.status();
    const v1::GatewayLimits was = GatewayLimitsWithDefaults(options_.limits);
    const v1::GatewayLimits is = GatewayLimitsWithDefaults(settings.limits);
    std::vector<std::string> fixed;
    if (was.threads() != is.threads()) {
      fixed.push_back(
          fmt::format("threads {} -> {}", was.threads(), is.threads()));
    }
    if (was.report_linger_us() != is.report_linger_us()) {
      fixed.push_back(fmt::format("report_linger_us {} -> {}",
                                  was.report_linger_us(),
                                  is.report_linger_us()));
    }
    if (fixed.empty()) return absl::OkStatus();
    return absl::FailedPreconditionError(fmt::format(
        "gateway_limits.{} cannot change while the gateway runs (restart the "
        "server to apply it)",
        fmt::join(fixed, ", gateway_limits.")));
  }

  bool ApplySettings(const GatewaySettings& settings) {
    std::vector<asio::ip::address> trusted =
        *ParseTrustedPeers(settings.trusted_peer_addresses);
    const Limits limits = ResolveLimits(settings.limits);
    std::lock_guard settings_lock(settings_mutex_);
    const bool changed = trusted != trusted_peers_ || limits != limits_;
    trusted_peers_ = std::move(trusted);
    limits_ = limits;
    if (changed) {
      log_->info(
          "gateway {}: from now on: {} trusted peers, max_line_bytes {}, "
          "max_connections {}, max_pending_output_bytes {}, "
          "idle_timeout_seconds {}, max_pipelined_requests {}",
          options_.server_name, trusted_peers_.size(), limits_.max_line_bytes,
          limits_.max_connections, limits_.max_pending_output_bytes,
          limits_.idle_timeout.count(), limits_.max_pipelined_requests);
    }
    return changed;
  }

 private:
  // Whether AT lines from address are accepted; settings_mutex_ held.
  bool IsTrustedLocked(const asio::ip::address& address) const {
    const asio::ip::address normalized = UnmappedAddress(address);
    return std::find(trusted_peers_.begin(), trusted_peers_.end(),
                     normalized) != trusted_peers_.end();
  }

  absl::Status Open(Listener& listener) {
    tcp::acceptor& acceptor = listener.acceptor;
    auto endpoint = ResolveListenAddress(listener.address, loops_.first());
    if (!endpoint.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("gateway listen address ({}): {}", listener.kind,
                      StatusMessage(endpoint.status())));
    }
    error_code ec;
    const auto fail = [&](std::string_view step) {
      return absl::UnavailableError(fmt::format("gateway cannot {} {} ({}): {}",
                                                step, listener.address,
                                                listener.kind, ec.message()));
    };
    if (acceptor.open(endpoint->protocol(), ec); ec) return fail("open");
    if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) {
      return fail("set SO_REUSEADDR on");
    }
    if (acceptor.bind(*endpoint, ec); ec) return fail("bind");
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
      return fail("listen on");
    }
    listener.port = acceptor.local_endpoint(ec).port();
    return absl::OkStatus();
  }

  // A stuck node must not leave IAMATs waiting forever (see
  // ReportBatcher::ExpireOverdue); runs until the event loop stops.
  asio::awaitable<void> ExpireOverdueReports() {
    asio::steady_timer timer(loops_.first());
    for (;;) {
      timer.expires_after(kOverdueCheckInterval);
      error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      reports_.ExpireOverdue();
    }
  }

  asio::awaitable<void> AcceptLoop(Listener& listener) {
    tcp::acceptor& acceptor = listener.acceptor;
    asio::steady_timer retry_timer(loops_.first());
    while (acceptor.is_open()) {
      EventLoops::Loop& loop = loops_.next();
      tcp::socket socket(loop.context);
      error_code ec;
      co_await acceptor.async_accept(
          socket, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        log_->warn("gateway accept failed: {}", ec.message());
        retry_timer.expires_after(kAcceptRetryDelay);
        co_await retry_timer.async_wait(
            asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      const tcp::endpoint remote = socket.remote_endpoint(ec);
      if (ec) continue;  // already gone
      std::string peer = FormatEndpoint(remote);
      Limits limits;
      bool trusted = false;
      {
        // The settings of the moment (a reload may change them).
        std::lock_guard settings_lock(settings_mutex_);
        limits = limits_;
        trusted = IsTrustedLocked(remote.address());
      }
      if (registry_.Size() >= limits.max_connections) {
        if (listener.tls != nullptr) {
          // Plaintext would be garbage to a TLS client: just close.
          log_->warn("TLS connection from {} refused: server busy", peer);
          continue;  // the socket closes here
        }
        const auto executor = socket.get_executor();
        asio::co_spawn(
            executor,
            RefuseBusy(std::move(socket), std::move(peer), log_.get()),
            asio::detached);
        continue;
      }
      const uint64_t id = ++last_connection_id_;
      // A connection bound to its certificate may not relay AT lines: they
      // speak for any client.
      const ConnectionRights rights{
          .trusted = !listener.bind_client_id && trusted,
          .bound_to_certificate = listener.bind_client_id};
      auto connection = Connection::Make(context_, limits, std::move(socket),
                                         listener.tls.get(), loop.linger_timer,
                                         id, std::move(peer), rights);
      registry_.Add(id, connection);
      connection->Start();
    }
  }

  GatewayOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  NodeClient node_;
  ReportBatcher reports_;
  ConnectionRegistry registry_;
  ServerContext context_;
  // What new connections get; a reload may change them (ApplySettings).
  std::mutex settings_mutex_;
  Limits limits_;                                 // threads never changes
  std::vector<asio::ip::address> trusted_peers_;  // normalized
  // Declared after everything the handlers use, so that destroying it (and
  // the coroutines still parked in it) happens first.
  EventLoops loops_{limits_.threads};
  Listener plain_{loops_.first(), "plaintext"};
  Listener tls_{loops_.first(), "TLS"};
  uint64_t last_connection_id_ = 0;  // only the accept loops touch it
  std::mutex lifecycle_mutex_;
  bool started_ = false;
  bool stopped_ = false;
};

GatewayServer::GatewayServer(GatewayOptions options,
                             const std::shared_ptr<grpc::Channel>& node_channel,
                             GrpcPollers& pollers,
                             std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<Impl>(std::move(options), node_channel, pollers,
                                   std::move(log))) {}

GatewayServer::~GatewayServer() { Stop(); }

absl::Status GatewayServer::Start() { return impl_->Start(); }

uint16_t GatewayServer::BoundPort() const { return impl_->BoundPort(); }

uint16_t GatewayServer::TlsBoundPort() const { return impl_->TlsBoundPort(); }

void GatewayServer::Stop() { impl_->Stop(); }

absl::Status GatewayServer::CheckSettings(
    const GatewaySettings& settings) const {
  return impl_->CheckSettings(settings);
}

bool GatewayServer::ApplySettings(const GatewaySettings& settings) {
  return impl_->ApplySettings(settings);
}

}  // namespace herd::gateway
