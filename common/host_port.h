// "host:port" addresses, the one way herd reads and writes them: the herd
// file's addresses, the gateway's and the HTTP listener's listen addresses,
// the addresses the bench dials.
#ifndef HERD_COMMON_HOST_PORT_H_
#define HERD_COMMON_HOST_PORT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace herd {

struct HostPort {
  std::string host;  // without the brackets of an IPv6 literal
  uint16_t port = 0;
};

// Whether port 0 ("any free port", for listeners in tests) is accepted.
enum class PortZero { kRefused, kAllowed };

// Parses "host:port" or "[v6 address]:port": host a name (letters, digits,
// '-', '.', '_'), an IPv4 address or a bracketed IPv6 address; port
// 1..65535 (0..65535 with PortZero::kAllowed). Errors name the address and
// what is wrong with it.
absl::StatusOr<HostPort> ParseHostPort(std::string_view address,
                                       PortZero port_zero = PortZero::kRefused);

// host:port, or [host]:port when host is an IPv6 address.
std::string FormatHostPort(std::string_view host, uint16_t port);

// True if text is an IPv4 or IPv6 address (no brackets, no port).
bool IsIpAddress(std::string_view text);

}  // namespace herd

#endif  // HERD_COMMON_HOST_PORT_H_
