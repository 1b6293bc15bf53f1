// What a reloaded herd file may change while a server runs, and what it
// changes in that server's links (README, "Live reconfiguration").
#ifndef HERD_HERDNODE_CONFIG_CHANGE_H_
#define HERD_HERDNODE_CONFIG_CHANGE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "herd/v1/config.pb.h"

namespace herd {

// OK if the validated herd file next may replace running in the server
// called self without a restart: self is still in it, with the same listen
// addresses (gateway, TLS gateway, gRPC, operator, HTTP), and the sections
// read only at start are unchanged (tls, gateway_tls, durability, places,
// log_directory, max_client_time_ahead_seconds). Otherwise
// FAILED_PRECONDITION naming every field that differs. The gateway checks
// its own limits (gateway_server.h).
absl::Status CheckLiveChange(const v1::HerdConfig& running,
                             const v1::HerdConfig& next, std::string_view self);

// The links of self that next adds and removes, in the herd files' order.
// A peer whose grpc_address changed is in both: its link is made anew.
struct LinkChange {
  std::vector<std::string> added;
  std::vector<std::string> removed;
};
LinkChange LinksChanged(const v1::HerdConfig& running,
                        const v1::HerdConfig& next, std::string_view self);

}  // namespace herd

#endif  // HERD_HERDNODE_CONFIG_CHANGE_H_
