// The gateway's limits (herd file: gateway_limits) with the documented
// defaults in place of zero fields: the one table of those defaults
// (config.proto and README.md, "Limits", document them). The herd file's
// loader reports them, the gateway runs with them.
#ifndef HERD_COMMON_GATEWAY_LIMITS_H_
#define HERD_COMMON_GATEWAY_LIMITS_H_

#include <algorithm>
#include <cstdint>
#include <thread>

#include "herd/v1/config.pb.h"

namespace herd {

inline constexpr uint32_t kDefaultMaxLineBytes = 4096;
inline constexpr uint32_t kDefaultMaxConnections = 10000;
inline constexpr uint32_t kDefaultMaxPendingOutputBytes = 1 << 20;
inline constexpr uint32_t kDefaultIdleTimeoutSeconds = 300;
inline constexpr uint32_t kDefaultMaxPipelinedRequests = 64;

// configured, each zero field replaced by its default; threads by the
// machine's hardware threads (at least 1). report_linger_us stays as it is
// (0 is its default: no linger).
inline v1::GatewayLimits GatewayLimitsWithDefaults(
    v1::GatewayLimits configured) {
  const auto or_default = [](uint32_t value, uint32_t fallback) {
    return value != 0 ? value : fallback;
  };
  configured.set_max_line_bytes(
      or_default(configured.max_line_bytes(), kDefaultMaxLineBytes));
  configured.set_max_connections(
      or_default(configured.max_connections(), kDefaultMaxConnections));
  configured.set_max_pending_output_bytes(or_default(
      configured.max_pending_output_bytes(), kDefaultMaxPendingOutputBytes));
  configured.set_idle_timeout_seconds(or_default(
      configured.idle_timeout_seconds(), kDefaultIdleTimeoutSeconds));
  configured.set_max_pipelined_requests(or_default(
      configured.max_pipelined_requests(), kDefaultMaxPipelinedRequests));
  // hardware_concurrency() may say 0 when it cannot tell.
  configured.set_threads(or_default(
      configured.threads(), std::max(1U, std::thread::hardware_concurrency())));
  return configured;
}

}  // namespace herd

#endif  // HERD_COMMON_GATEWAY_LIMITS_H_
