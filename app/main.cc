// herdnode --config FILE --name NAME [--log_dir DIR]: one herd server, its
// node (gRPC) and its text gateway, until SIGINT or SIGTERM. SIGHUP reloads
// the herd file (README, "Live reconfiguration").
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "common/status_text.h"
#include "gateway/gateway_server.h"
#include "herdnode/config.h"
#include "herdnode/mesh/tls_files.h"
#include "herdnode/node.h"
#include "herdnode/ops/grpc_log.h"
#include "herdnode/ops/server_log.h"
#include "herdnode/places/places_factory.h"
#include "spdlog/logger.h"

ABSL_FLAG(std::string, config, "", "the herd file (protobuf text format)");
ABSL_FLAG(std::string, name, "", "which server of the herd this is");
ABSL_FLAG(std::string, log_dir, "",
          "directory for NAME.log (overrides the herd file's log_directory)");
ABSL_FLAG(
    int, grpc_threads, 1,
    "threads polling the node's gRPC (docs/ARCHITECTURE.md, "
    "\"Threads and ownership\"); 1 avoids handing gRPC's poller role between "
    "threads");
ABSL_FLAG(int, watch_herd_file, 0,
          "every this many seconds, reload the herd file if its contents "
          "changed (0: only on SIGHUP or a Reload call; at most 3600)");
ABSL_FLAG(std::string, listen_host, "",
          "listen on this host instead of the one in this server's own "
          "herd file addresses, keeping their ports (e.g. 0.0.0.0 in a pod "
          "whose addresses are its DNS name)");
ABSL_FLAG(bool, insecure, false,
          "no TLS between nodes: plaintext peer listener and links, peers "
          "trusted by the name they send (development only)");

namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
constexpr int kMaxWatchSeconds = 3600;

// The gateway's part in reloads: this server's trusted peers and the
// herd's gateway limits.
class GatewayReload final : public herd::ReloadParticipant {
 public:
  GatewayReload(herd::gateway::GatewayServer& gateway, std::string name)
      : gateway_(gateway), name_(std::move(name)) {}

  absl::Status Check(const herd::v1::HerdConfig& next) override {
    return gateway_.CheckSettings(Settings(next));
  }
  bool Apply(const herd::v1::HerdConfig& next) override {
    return gateway_.ApplySettings(Settings(next));
  }

 private:
  herd::gateway::GatewaySettings Settings(
      const herd::v1::HerdConfig& config) const {
    herd::gateway::GatewaySettings settings;
    // The node checked that this server is in config before asking.
    const herd::v1::ServerConfig& server = **herd::FindServer(config, name_);
    settings.trusted_peer_addresses.assign(
        server.trusted_peer_addresses().begin(),
        server.trusted_peer_addresses().end());
    settings.limits = herd::EffectiveGatewayLimits(config);
    return settings;
  }

  herd::gateway::GatewayServer& gateway_;
  const std::string name_;
};

int Fail(int code, std::string_view message) {
  std::cerr << "herdnode: " << message << "\n";
  return code;
}

// "gateway HOST:PORT, tls gateway HOST:PORT, " for the listeners a server
// has, for its start-up messages.
std::string Listeners(const herd::v1::ServerConfig& server) {
  std::string text;
  if (!server.gateway_address().empty()) {
    text += "gateway " + server.gateway_address() + ", ";
  }
  if (!server.tls_gateway_address().empty()) {
    text += "tls gateway " + server.tls_gateway_address() + ", ";
  }
  return text;
}

int Run(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "herdnode --config HERD_FILE --name SERVER [--log_dir DIR] "
      "[--insecure] [--grpc_threads N] [--watch_herd_file SECONDS] "
      "[--listen_host HOST]");
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's deadlock
  // detector on: a debugging aid that cost 4-7% of CPU in the herd's profile.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (positional.size() > 1) {
    return Fail(kExitUsage,
                std::string("unexpected argument '") + positional[1] + "'");
  }
  const std::string config_path = absl::GetFlag(FLAGS_config);
  const std::string name = absl::GetFlag(FLAGS_name);
  if (config_path.empty()) return Fail(kExitUsage, "--config is required");
  if (name.empty()) return Fail(kExitUsage, "--name is required");
  if (const int threads = absl::GetFlag(FLAGS_grpc_threads);
      threads < 1 || threads > 64) {
    return Fail(kExitUsage, "--grpc_threads " + std::to_string(threads) +
                                " is not in [1, 64]");
  }
  const int watch_seconds = absl::GetFlag(FLAGS_watch_herd_file);
  if (watch_seconds < 0 || watch_seconds > kMaxWatchSeconds) {
    return Fail(kExitUsage,
                "--watch_herd_file " + std::to_string(watch_seconds) +
                    " is not in [0, " + std::to_string(kMaxWatchSeconds) + "]");
  }

  absl::StatusOr<herd::v1::HerdConfig> config =
      herd::LoadHerdConfig(config_path);
  if (!config.ok()) {
    return Fail(kExitUsage, herd::StatusMessage(config.status()));
  }
  absl::StatusOr<const herd::v1::ServerConfig*> self =
      herd::FindServer(*config, name);
  if (!self.ok()) return Fail(kExitUsage, herd::StatusMessage(self.status()));
  const std::string listen_host = absl::GetFlag(FLAGS_listen_host);
  if (!listen_host.empty()) {
    if (absl::Status listen = herd::ListenOnHost(*config, name, listen_host);
        !listen.ok()) {
      return Fail(kExitUsage, herd::StatusMessage(listen));
    }
  }
  const herd::v1::ServerConfig server = **self;

  // The TLS files are part of the configuration: checked before anything
  // listens. Relative paths are relative to the herd file's directory.
  const bool insecure = absl::GetFlag(FLAGS_insecure);
  std::shared_ptr<const herd::TlsMaterial> tls;
  if (!insecure) {
    absl::StatusOr<herd::TlsMaterial> material = herd::LoadTlsMaterial(
        *config, name, std::filesystem::path(config_path).parent_path());
    if (!material.ok()) {
      return Fail(kExitUsage, herd::StatusMessage(material.status()));
    }
    tls = std::make_shared<const herd::TlsMaterial>(*std::move(material));
  }
  herd::GatewayTlsMaterial gateway_tls;
  if (!server.tls_gateway_address().empty()) {
    absl::StatusOr<herd::GatewayTlsMaterial> material =
        herd::LoadGatewayTlsMaterial(
            *config, name, std::filesystem::path(config_path).parent_path());
    if (!material.ok()) {
      return Fail(kExitUsage, herd::StatusMessage(material.status()));
    }
    gateway_tls = *std::move(material);
  }

  std::string log_dir = absl::GetFlag(FLAGS_log_dir);
  if (log_dir.empty()) log_dir = config->log_directory();
  if (log_dir.empty()) log_dir = "logs";

  // Block the stop and reload signals before any thread exists, so every
  // thread inherits the mask and only sigwait() below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::shared_ptr<spdlog::logger>> log =
      herd::OpenServerLog(log_dir, name);
  if (!log.ok()) return Fail(kExitRuntime, herd::StatusMessage(log.status()));
  (*log)->info("herdnode {} starting: {}grpc {}", name, Listeners(server),
               server.grpc_address());
  // TLS handshake refusals are only reported by gRPC's own log.
  const herd::GrpcLogToServerLog grpc_log(*log);
  if (insecure) {
    constexpr std::string_view kInsecureWarning =
        "WARNING: --insecure: inter-node gRPC is plaintext and "
        "unauthenticated; anyone who can reach the gRPC port can inject "
        "locations. Use only for development.";
    (*log)->warn("{}", kInsecureWarning);
    std::cerr << "herdnode " << name << ": " << kInsecureWarning << "\n";
  }

  // The places provider is part of the configuration: a missing index or
  // API key is a bad setup, reported before anything listens.
  absl::StatusOr<std::unique_ptr<herd::PlacesProvider>> places =
      herd::MakePlacesProvider(config->places());
  if (!places.ok()) {
    return Fail(kExitUsage, herd::StatusMessage(places.status()));
  }

  herd::NodeOptions node_options;
  node_options.places = *std::move(places);
  node_options.config = *config;
  node_options.config_path = config_path;
  node_options.watch_herd_file = absl::Seconds(watch_seconds);
  node_options.listen_host = listen_host;
  node_options.server_name = name;
  node_options.log = *log;
  node_options.tls = tls;
  node_options.grpc_threads = absl::GetFlag(FLAGS_grpc_threads);
  absl::StatusOr<std::unique_ptr<herd::Node>> node =
      herd::Node::Start(std::move(node_options));
  if (!node.ok()) {
    (*log)->error("node failed to start: {}",
                  herd::StatusMessage(node.status()));
    (*log)->flush();
    return Fail(kExitRuntime, herd::StatusMessage(node.status()));
  }

  herd::gateway::GatewayOptions gateway_options;
  gateway_options.server_name = name;
  gateway_options.listen_address = server.gateway_address();
  gateway_options.tls.listen_address = server.tls_gateway_address();
  gateway_options.tls.cert_chain_pem = std::move(gateway_tls.cert_chain_pem);
  gateway_options.tls.private_key_pem = std::move(gateway_tls.private_key_pem);
  gateway_options.tls.client_ca_pem = std::move(gateway_tls.client_ca_pem);
  gateway_options.tls.bind_client_id = gateway_tls.bind_client_id;
  gateway_options.trusted_peer_addresses.assign(
      server.trusted_peer_addresses().begin(),
      server.trusted_peer_addresses().end());
  gateway_options.limits = herd::EffectiveGatewayLimits(*config);
  gateway_options.observer = (*node)->metrics();
  herd::gateway::GatewayServer gateway(std::move(gateway_options),
                                       (*node)->InProcessChannel(),
                                       (*node)->pollers(), *log);
  GatewayReload gateway_reload(gateway, name);
  (*node)->SetReloadParticipant(&gateway_reload);
  if (absl::Status started = gateway.Start(); !started.ok()) {
    (*log)->error("gateway failed to start: {}", herd::StatusMessage(started));
    (*node)->SetReloadParticipant(nullptr);
    (*node)->Stop();
    (*log)->flush();
    return Fail(kExitRuntime, herd::StatusMessage(started));
  }
  std::cout << "herdnode " << name << ": " << Listeners(server) << "grpc "
            << server.grpc_address();
  if (!server.operator_address().empty()) {
    std::cout << ", operator " << server.operator_address();
  }
  if (!server.http_address().empty()) {
    std::cout << ", http " << server.http_address();
  }
  std::cout << std::endl;

  int signal_number = 0;
  for (;;) {
    sigwait(&signals, &signal_number);
    if (signal_number != SIGHUP) break;
    (*log)->info("herdnode {}: SIGHUP: reloading {}", name, config_path);
    // The outcome is in the server log (the node logs every reload).
    (*node)->RequestReload([](const herd::ReloadResult& /*result*/) {});
  }
  (*log)->info("herdnode {} stopping on signal {}", name, signal_number);
  // No reload may reach the gateway once it stops.
  (*node)->SetReloadParticipant(nullptr);
  gateway.Stop();
  (*node)->Stop();
  (*log)->info("herdnode {} stopped", name);
  // Writes what the log's own thread has not written yet (it gathers lines
  // for up to 2 ms): _Exit below runs no destructor that would.
  (*log)->flush();
  // Everything that matters is stopped, durable and flushed. Leave without
  // running gRPC 1.51's object teardown: under load it has tripped an
  // internal ref-count assertion (ref_counted.h "prior > 0") after a clean
  // Stop(), turning a clean exit into an abort.
  std::fflush(nullptr);
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
