// The status page's data, GET /status.json: a StatusSnapshot as JSON. The
// page draws only from this, so a test (or an operator's script) can check
// the same facts the page shows.
#ifndef HERD_HERDNODE_OPS_STATUS_STATUS_JSON_H_
#define HERD_HERDNODE_OPS_STATUS_STATUS_JSON_H_

#include "herdnode/ops/status/status_snapshot.h"
#include "nlohmann/json.hpp"

namespace herd {

// {
//   "node", "epoch", "time" (RFC 3339, UTC), "time_unix_ms",
//   "servers": [{"name", "gateway_address", "tls_gateway_address" (either
//                may be ""), "http_address", "self"}],
//   "links": [{"a", "b", "own", and for this node's own links:
//              "peer", "state" (UP, SYNCING, DOWN), "updates_sent",
//              "updates_received", "sync_entries_received", "reconnects"}],
//   "counters": {"received", "accepted", "stale", "duplicate"},
//   "clients": {"total", "shown", "limit", "truncated",
//               "list": [client...]},            newest accepted first
//   "recent_updates": {"limit", "list": [client... + "accepted_at",
//                      "number"]}                newest first
// }
// where a client is {"id", "lat", "lon", "coordinates" (as sent),
// "origin" (the server that heard it), "client_time" (as sent)}.
nlohmann::json StatusJson(const StatusSnapshot& snapshot);

}  // namespace herd

#endif  // HERD_HERDNODE_OPS_STATUS_STATUS_JSON_H_
