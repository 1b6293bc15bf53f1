// What the text gateway reports about itself (connections, per-command
// latency) to whoever watches it, e.g. the node's metrics. The gateway does
// not know about metrics; it only calls these hooks.
#ifndef HERD_GATEWAY_GATEWAY_OBSERVER_H_
#define HERD_GATEWAY_GATEWAY_OBSERVER_H_

#include <array>
#include <string_view>

#include "absl/time/time.h"

namespace herd::gateway {

// The command labels OnRequest reports; anything else is "invalid".
inline constexpr std::array<std::string_view, 4> kRequestCommands = {
    "IAMAT", "WHATSAT", "AT", "invalid"};

// The command label of a request line: its first word if that is a known
// command, else "invalid". Reads only the first word, so labelling costs
// nothing next to parsing.
constexpr std::string_view RequestCommand(std::string_view line) {
  const size_t start = line.find_first_not_of(" \t");
  if (start == std::string_view::npos) return kRequestCommands.back();
  line.remove_prefix(start);
  const std::string_view word = line.substr(0, line.find_first_of(" \t\r"));
  for (size_t i = 0; i + 1 < kRequestCommands.size(); ++i) {
    if (word == kRequestCommands[i]) return kRequestCommands[i];
  }
  return kRequestCommands.back();
}

// Called from the gateway's event-loop threads: implementations must be
// thread-safe and must not block.
class GatewayObserver {
 public:
  virtual ~GatewayObserver() = default;
  // A client connection was accepted (not one refused as "busy").
  virtual void OnConnectionOpened() = 0;
  // An accepted connection was closed, for whatever reason.
  virtual void OnConnectionClosed() = 0;
  // One request line was answered: command is "IAMAT", "WHATSAT", "AT" or
  // "invalid"; latency runs from the complete line to its reply being ready.
  virtual void OnRequest(std::string_view command, absl::Duration latency) = 0;
};

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_GATEWAY_OBSERVER_H_
