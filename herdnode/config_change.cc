#include "herdnode/config_change.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/message_differencer.h"
#include "herdnode/config.h"

namespace herd {
namespace {

using google::protobuf::util::MessageDifferencer;

// "a" -> b, or "(none)" for an empty address.
std::string Shown(const std::string& value) {
  return value.empty() ? std::string("(none)")
                       : absl::StrCat("\"", value, "\"");
}

// The grpc_address of name in config, or "" if it is not there.
std::string AddressOf(const v1::HerdConfig& config, std::string_view name) {
  absl::StatusOr<const v1::ServerConfig*> server = FindServer(config, name);
  return server.ok() ? (*server)->grpc_address() : std::string();
}

}  // namespace

absl::Status CheckLiveChange(const v1::HerdConfig& running,
                             const v1::HerdConfig& next,
                             std::string_view self) {
  absl::StatusOr<const v1::ServerConfig*> now = FindServer(running, self);
  absl::StatusOr<const v1::ServerConfig*> then = FindServer(next, self);
  if (!now.ok()) return now.status();
  if (!then.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the new herd file has no server '", std::string(self),
                     "' (this one): stop this server instead of reloading it"));
  }
  std::vector<std::string> changed;
  const auto address = [&](const char* field, const std::string& was,
                           const std::string& is) {
    if (was != is) {
      changed.push_back(absl::StrCat("servers[", std::string(self), "].", field,
                                     " ", Shown(was), " -> ", Shown(is)));
    }
  };
  address("gateway_address", (*now)->gateway_address(),
          (*then)->gateway_address());
  address("tls_gateway_address", (*now)->tls_gateway_address(),
          (*then)->tls_gateway_address());
  address("grpc_address", (*now)->grpc_address(), (*then)->grpc_address());
  address("operator_address", (*now)->operator_address(),
          (*then)->operator_address());
  address("http_address", (*now)->http_address(), (*then)->http_address());
  const auto section = [&](const char* field,
                           const google::protobuf::Message& was,
                           const google::protobuf::Message& is) {
    if (!MessageDifferencer::Equals(was, is)) changed.emplace_back(field);
  };
  section("tls", running.tls(), next.tls());
  section("gateway_tls", running.gateway_tls(), next.gateway_tls());
  section("durability", running.durability(), next.durability());
  section("places", running.places(), next.places());
  if (running.log_directory() != next.log_directory()) {
    changed.push_back(absl::StrCat("log_directory ",
                                   Shown(running.log_directory()), " -> ",
                                   Shown(next.log_directory())));
  }
  if (EffectiveMaxClientTimeAheadSeconds(running) !=
      EffectiveMaxClientTimeAheadSeconds(next)) {
    changed.push_back(absl::StrCat("max_client_time_ahead_seconds ",
                                   EffectiveMaxClientTimeAheadSeconds(running),
                                   " -> ",
                                   EffectiveMaxClientTimeAheadSeconds(next)));
  }
  if (changed.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("the new herd file changes what only a restart can: ",
                   absl::StrJoin(changed, "; "),
                   " (nothing was changed; restart the server to apply it)"));
}

LinkChange LinksChanged(const v1::HerdConfig& running,
                        const v1::HerdConfig& next, std::string_view self) {
  const std::vector<std::string> was = LinkedPeers(running, self);
  const std::vector<std::string> is = LinkedPeers(next, self);
  const auto kept = [&](const std::string& peer) {
    return std::find(was.begin(), was.end(), peer) != was.end() &&
           std::find(is.begin(), is.end(), peer) != is.end() &&
           AddressOf(running, peer) == AddressOf(next, peer);
  };
  LinkChange change;
  for (const std::string& peer : is) {
    if (!kept(peer)) change.added.push_back(peer);
  }
  for (const std::string& peer : was) {
    if (!kept(peer)) change.removed.push_back(peer);
  }
  return change;
}

}  // namespace herd
