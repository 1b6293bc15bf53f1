// The herd file: loading it (protobuf text format) and checking that it
// describes a herd that can run. Every error names the problem.
#ifndef HERD_HERDNODE_CONFIG_H_
#define HERD_HERDNODE_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "herd/v1/config.pb.h"

namespace herd {

// Reads and validates the herd file at path. Parse errors carry the file's
// line:column.
absl::StatusOr<v1::HerdConfig> LoadHerdConfig(const std::string& path);
// LoadHerdConfig's two steps: the file's text, and that text parsed and
// validated (path names the file in errors).
absl::StatusOr<std::string> ReadHerdFileText(const std::string& path);
absl::StatusOr<v1::HerdConfig> ParseHerdConfig(const std::string& text,
                                               const std::string& path);

// Checks a herd built in memory: at least one server; unique names without
// whitespace; valid, distinct host:port addresses; at least one gateway per
// server, and a gateway_tls section if any has a TLS gateway; links between
// existing, distinct servers, each at most once; trusted peers given as IP
// addresses; every numeric field 0 (its default) or within its range
// (config.proto).
absl::Status ValidateHerdConfig(const v1::HerdConfig& config);

// The server called name; the error lists the names the herd does have.
absl::StatusOr<const v1::ServerConfig*> FindServer(const v1::HerdConfig& config,
                                                   std::string_view name);

// Names of the servers linked to name, in the order of the herd file.
std::vector<std::string> LinkedPeers(const v1::HerdConfig& config,
                                     std::string_view name);

// Makes server self listen on host instead of the host of its own addresses
// in config (gateway, TLS gateway, gRPC, operator, HTTP; ports kept): for a
// herd file whose addresses are names its peers dial but it cannot bind,
// e.g. a pod's DNS name (--listen_host; the Kubernetes entry point passes
// 0.0.0.0). host is a name or an IP address (IPv6 without brackets, or in
// them). Changes nothing and says why if host is not one, or self is not in
// config.
absl::Status ListenOnHost(v1::HerdConfig& config, std::string_view self,
                          std::string_view host);

// The longest GatewayLimits.report_linger_us that ValidateHerdConfig accepts.
inline constexpr uint32_t kMaxReportLingerUs = 1000;

// The gateway limits with every zero field replaced by its default.
v1::GatewayLimits EffectiveGatewayLimits(const v1::HerdConfig& config);

// HerdConfig.max_client_time_ahead_seconds: the default (for 0), and the
// value in effect.
inline constexpr uint32_t kDefaultMaxClientTimeAheadSeconds = 300;
uint32_t EffectiveMaxClientTimeAheadSeconds(const v1::HerdConfig& config);

}  // namespace herd

#endif  // HERD_HERDNODE_CONFIG_H_
