// What the status page shows, copied out of a running node in one go: each
// source is read under its own short lock, so a page being rendered never
// holds up flooding, links or clients.
#ifndef HERD_HERDNODE_OPS_STATUS_STATUS_SNAPSHOT_H_
#define HERD_HERDNODE_OPS_STATUS_STATUS_SNAPSHOT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "herd/v1/config.pb.h"
#include "herd/v1/herd.pb.h"
#include "herdnode/mesh/link_set.h"
#include "herdnode/ops/status/recent_updates.h"
#include "herdnode/store/flooding.h"
#include "herdnode/store/location_store.h"

namespace herd {

struct StatusSnapshot {
  std::string node;  // this server's name
  std::string epoch;
  absl::Time now;
  // The herd file's servers and links (nothing else of it: no key or path
  // belongs on a page).
  std::vector<v1::ServerConfig> servers;
  std::vector<v1::Link> links;
  // This node's own links, as GetStatus reports them.
  std::vector<v1::PeerStatus> peers;
  FloodCounters floods;
  // Every client this node holds, or if there are more than clients_limit,
  // the clients_limit most recently accepted; newest first.
  uint64_t clients_total = 0;
  size_t clients_limit = 0;
  std::vector<v1::Location> clients;
  std::vector<RecentUpdate> recent;  // newest first
  size_t recent_limit = 0;
};

// Where a snapshot comes from; everything must outlive the calls.
struct StatusSources {
  // The herd file in effect (a reload replaces it).
  std::function<std::shared_ptr<const v1::HerdConfig>()> config;
  std::string node;
  std::string epoch;
  const LocationStore* store = nullptr;
  const Flooder* flooder = nullptr;
  const LinkSet* links = nullptr;
  const RecentUpdates* recent = nullptr;
};

StatusSnapshot TakeStatusSnapshot(const StatusSources& sources,
                                  size_t clients_limit);

// At most limit clients of store, most recently accepted first: all of them
// if they fit, else those accepted last (one bounded read of the store, never
// a walk over every client).
std::vector<v1::Location> NewestClients(const LocationStore& store,
                                        size_t limit);

}  // namespace herd

#endif  // HERD_HERDNODE_OPS_STATUS_STATUS_SNAPSHOT_H_
