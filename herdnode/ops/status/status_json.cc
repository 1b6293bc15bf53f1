#include "herdnode/ops/status/status_json.h"

#include <string>

namespace herd {
namespace {

using nlohmann::json;

std::string Rfc3339(absl::Time time) {
  return absl::FormatTime(absl::RFC3339_full, time, absl::UTCTimeZone());
}

json ClientJson(const v1::Location& location) {
  return {{"id", location.client_id()},
          {"lat", location.latitude()},
          {"lon", location.longitude()},
          {"coordinates", location.coordinates_text()},
          {"origin", location.origin_server()},
          {"client_time", location.client_time_text()}};
}

json LinkJson(const v1::Link& link, const StatusSnapshot& snapshot) {
  json out = {{"a", link.a()}, {"b", link.b()}};
  const bool own = link.a() == snapshot.node || link.b() == snapshot.node;
  out["own"] = own;
  if (!own) return out;  // only its two ends know its state
  const std::string& peer = link.a() == snapshot.node ? link.b() : link.a();
  out["peer"] = peer;
  out["state"] = "UNKNOWN";
  for (const v1::PeerStatus& status : snapshot.peers) {
    if (status.name() != peer) continue;
    out["state"] = status.state();
    out["updates_sent"] = status.updates_sent();
    out["updates_received"] = status.updates_received();
    out["sync_entries_received"] = status.sync_entries_received();
    out["reconnects"] = status.reconnects();
  }
  return out;
}

}  // namespace

json StatusJson(const StatusSnapshot& snapshot) {
  json out = {
      {"node", snapshot.node},
      {"epoch", snapshot.epoch},
      {"time", Rfc3339(snapshot.now)},
      {"time_unix_ms", absl::ToUnixMillis(snapshot.now)},
  };
  json& servers = out["servers"] = json::array();
  for (const v1::ServerConfig& server : snapshot.servers) {
    servers.push_back({{"name", server.name()},
                       {"gateway_address", server.gateway_address()},
                       {"tls_gateway_address", server.tls_gateway_address()},
                       {"http_address", server.http_address()},
                       {"self", server.name() == snapshot.node}});
  }
  json& links = out["links"] = json::array();
  for (const v1::Link& link : snapshot.links) {
    links.push_back(LinkJson(link, snapshot));
  }
  out["counters"] = {{"received", snapshot.floods.received},
                     {"accepted", snapshot.floods.accepted},
                     {"stale", snapshot.floods.stale},
                     {"duplicate", snapshot.floods.duplicate}};
  json clients = json::array();
  for (const v1::Location& location : snapshot.clients) {
    clients.push_back(ClientJson(location));
  }
  out["clients"] = {
      {"total", snapshot.clients_total},
      {"shown", snapshot.clients.size()},
      {"limit", snapshot.clients_limit},
      {"truncated", snapshot.clients.size() < snapshot.clients_total},
      {"list", std::move(clients)}};
  json recent = json::array();
  for (const RecentUpdate& update : snapshot.recent) {
    json item = ClientJson(update.location);
    item["accepted_at"] = Rfc3339(update.accepted_at);
    item["number"] = update.number;
    recent.push_back(std::move(item));
  }
  out["recent_updates"] = {{"limit", snapshot.recent_limit},
                           {"list", std::move(recent)}};
  return out;
}

}  // namespace herd
