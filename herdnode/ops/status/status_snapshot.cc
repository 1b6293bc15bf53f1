#include "herdnode/ops/status/status_snapshot.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace herd {

std::vector<v1::Location> NewestClients(const LocationStore& store,
                                        size_t limit) {
  if (limit == 0) return {};
  // Each acceptance takes the next sequence number and a client holds only
  // its newest, so the current entries above last_seq - limit are at most
  // limit, and the newest ones. When every client fits, read from the start.
  const uint64_t last = store.last_seq();
  const uint64_t after =
      store.size() <= limit || last <= limit ? 0 : last - limit;
  StorePage page = store.EntriesAfter(after, limit);
  std::vector<v1::Location> clients;
  clients.reserve(page.entries.size());
  for (auto entry = page.entries.rbegin(); entry != page.entries.rend();
       ++entry) {
    clients.push_back(std::move(entry->location));
  }
  return clients;
}

StatusSnapshot TakeStatusSnapshot(const StatusSources& sources,
                                  size_t clients_limit) {
  StatusSnapshot snapshot;
  snapshot.node = sources.node;
  snapshot.epoch = sources.epoch;
  snapshot.now = absl::Now();
  const std::shared_ptr<const v1::HerdConfig> config = sources.config();
  snapshot.servers.assign(config->servers().begin(), config->servers().end());
  snapshot.links.assign(config->links().begin(), config->links().end());
  for (const std::shared_ptr<PeerLink>& link : *sources.links->All()) {
    snapshot.peers.push_back(link->Status());
  }
  snapshot.floods = sources.flooder->counters();
  snapshot.clients_limit = clients_limit;
  snapshot.clients = NewestClients(*sources.store, clients_limit);
  // Clients may arrive between the two reads: never report fewer in all
  // than are shown.
  snapshot.clients_total =
      std::max<uint64_t>(sources.store->size(), snapshot.clients.size());
  snapshot.recent = sources.recent->NewestFirst();
  snapshot.recent_limit = sources.recent->capacity();
  return snapshot;
}

}  // namespace herd
