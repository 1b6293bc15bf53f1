// The text gateway of one herd server: accepts telnet/nc clients and text
// peers (plaintext), and clients with certificates (TLS), and translates
// each line into a gRPC call on its node.
#ifndef HERD_GATEWAY_GATEWAY_SERVER_H_
#define HERD_GATEWAY_GATEWAY_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/grpc_pollers.h"
#include "gateway/gateway_observer.h"
#include "grpcpp/channel.h"
#include "herd/v1/config.pb.h"
#include "spdlog/logger.h"

namespace herd::gateway {

struct GatewayOptions {
  // This server's name, as it appears in the AT lines it makes.
  std::string server_name;
  // host:port of the plaintext listener; port 0 picks a free one (see
  // BoundPort()). Empty: no plaintext listener.
  std::string listen_address;
  // The TLS listener: the same protocol inside TLS, for clients with a
  // certificate of the client CA. Empty listen_address: none.
  struct Tls {
    std::string listen_address;  // port 0: see TlsBoundPort()
    std::string cert_chain_pem;  // the gateway's certificate and key
    std::string private_key_pem;
    std::string client_ca_pem;  // the only CA whose clients are admitted
    // IAMAT only for an id the client's certificate names (client_tls.h);
    // every other IAMAT, and every AT, gets "? ".
    bool bind_client_id = false;
  } tls;
  // Source IP addresses whose AT lines are accepted; everyone else gets "? ".
  std::vector<std::string> trusted_peer_addresses;
  // Limits; zero fields take the documented defaults.
  v1::GatewayLimits limits;
  // Told about connections and request latency (the node's metrics); may be
  // null.
  std::shared_ptr<GatewayObserver> observer;
};

// What may change while the gateway runs (a reloaded herd file): who may
// send AT lines and the limits, for connections accepted from then on.
// gateway_limits.threads and report_linger_us cannot change.
struct GatewaySettings {
  std::vector<std::string> trusted_peer_addresses;
  v1::GatewayLimits limits;  // zero fields: the defaults
};

class GatewayServer {
 public:
  // node_channel: a channel to this server's own HerdNode service (normally
  // the gRPC server's in-process channel); its calls go on the pollers'
  // queues (normally the node's), which must run until Stop(). log: the
  // server's log file.
  GatewayServer(GatewayOptions options,
                const std::shared_ptr<grpc::Channel>& node_channel,
                GrpcPollers& pollers, std::shared_ptr<spdlog::logger> log);
  ~GatewayServer();  // Stops if still running.

  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;

  // Binds the listening sockets and starts the event-loop threads. A bad
  // address, a port in use or TLS material OpenSSL refuses is an error
  // naming it; so is having no listener at all.
  absl::Status Start();
  // The ports actually bound (useful with port 0), 0 for a listener that is
  // off. Valid after Start().
  uint16_t BoundPort() const;
  uint16_t TlsBoundPort() const;
  // Stops accepting, closes every connection, joins the threads. Idempotent.
  void Stop();

  // OK if settings could replace the running ones (every trusted peer an IP
  // address; threads and report_linger_us as they are); changes nothing.
  absl::Status CheckSettings(const GatewaySettings& settings) const;
  // Applies settings that CheckSettings accepted to the connections
  // accepted from now on (open ones keep theirs); returns whether they
  // differ from the running ones. Any thread.
  bool ApplySettings(const GatewaySettings& settings);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_GATEWAY_SERVER_H_
