// The node's status page, on the same HTTP listener as /metrics:
//   GET /             the page (HTML, its script and style inline); it
//                     fetches the two below and refreshes itself
//   GET /status.json  what the page shows, read afresh on every request
//   GET /world.json   the world map's outlines, built into the binary
// Nothing is fetched from anywhere else, at build time or view time.
#ifndef HERD_HERDNODE_OPS_STATUS_STATUS_PAGE_H_
#define HERD_HERDNODE_OPS_STATUS_STATUS_PAGE_H_

#include <functional>

#include "herdnode/ops/http_listener.h"
#include "herdnode/ops/status/status_snapshot.h"

namespace herd {

// Adds the paths above to routes. snapshot runs on the HTTP listener's
// thread for every GET /status.json.
void AddStatusPageRoutes(std::function<StatusSnapshot()> snapshot,
                         HttpRoutes& routes);

}  // namespace herd

#endif  // HERD_HERDNODE_OPS_STATUS_STATUS_PAGE_H_
