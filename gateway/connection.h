// A client connection of the text gateway (lines in, replies out in order,
// limits), what every connection shares with the server, and the registry of
// open ones. Internal to the gateway: GatewayServer (gateway_server.cc)
// accepts the sockets and makes the connections.
#ifndef HERD_GATEWAY_CONNECTION_H_
#define HERD_GATEWAY_CONNECTION_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "boost/asio/ip/address.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl/context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "gateway/gateway_observer.h"
#include "gateway/node_client.h"
#include "gateway/report_batcher.h"
#include "herd/v1/config.pb.h"
#include "spdlog/logger.h"

namespace herd::gateway {

// GatewayLimits with its zero fields replaced by the documented defaults
// (common/gateway_limits.h), in the units the gateway uses.
struct Limits {
  size_t max_line_bytes;
  size_t max_connections;
  size_t max_pending_output_bytes;
  std::chrono::seconds idle_timeout;
  size_t max_pipelined_requests;
  unsigned threads;
  bool operator==(const Limits&) const = default;
};

class Connection;

// Open connections, so the server can count them and close them on Stop().
class ConnectionRegistry {
 public:
  void Add(uint64_t id, const std::shared_ptr<Connection>& connection) {
    std::lock_guard lock(mutex_);
    connections_.emplace(id, connection);
  }
  void Remove(uint64_t id) {
    std::lock_guard lock(mutex_);
    connections_.erase(id);
  }
  size_t Size() {
    std::lock_guard lock(mutex_);
    return connections_.size();
  }
  std::vector<std::shared_ptr<Connection>> Snapshot() {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<Connection>> result;
    for (const auto& [id, weak] : connections_) {
      if (auto connection = weak.lock()) {
        result.push_back(std::move(connection));
      }
    }
    return result;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections_;
};

// The limits with their zero fields replaced by the defaults.
Limits ResolveLimits(const v1::GatewayLimits& configured);

// What every connection shares with the server.
struct ServerContext {
  NodeClient* node = nullptr;
  ReportBatcher* reports = nullptr;  // where IAMATs go
  spdlog::logger* log = nullptr;
  ConnectionRegistry* registry = nullptr;
  GatewayObserver* observer = nullptr;  // may be null
};

// Who may do what on one connection, decided when it is accepted.
struct ConnectionRights {
  // AT lines are accepted (the peer's address is trusted).
  bool trusted = false;
  // IAMAT only for the client ids its certificate names (TLS listener with
  // bind_client_id).
  bool bound_to_certificate = false;
};

// One client connection. Everything it does runs on its socket's executor
// (one event loop, run by one thread): a reader, a writer, a watchdog, one
// handler per WHATSAT or AT line, and the answers to its IAMATs (which go to
// the node batched with every other connection's; see report_batcher.h).
class Connection {
 public:
  // A connection for an accepted socket; Start() it. limits: the gateway's
  // when it was accepted (kept for its life). tls: the TLS listener's
  // context, or null for plaintext. linger_timer: the event loop's own, for
  // the report batcher.
  static std::shared_ptr<Connection> Make(
      const ServerContext& server, const Limits& limits,
      boost::asio::ip::tcp::socket socket, boost::asio::ssl::context* tls,
      boost::asio::steady_timer& linger_timer, uint64_t id, std::string peer,
      ConnectionRights rights);
  virtual ~Connection() = default;

  // Logs the connection and starts serving it (the TLS handshake first, on
  // a TLS listener).
  virtual void Start() = 0;
  // Closes at once. On the connection's event loop, or when no event-loop
  // thread runs.
  virtual void CloseNow(std::string_view reason) = 0;
};

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_CONNECTION_H_
