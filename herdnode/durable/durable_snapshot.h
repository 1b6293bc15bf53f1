// Writing a node's snapshot: every current store entry, so the log segments
// before it can be removed.
#ifndef HERD_HERDNODE_DURABLE_DURABLE_SNAPSHOT_H_
#define HERD_HERDNODE_DURABLE_DURABLE_SNAPSHOT_H_

#include <cstdint>
#include <stop_token>
#include <string>

#include "absl/status/statusor.h"
#include "herdnode/durable/durable_env.h"
#include "herdnode/store/location_store.h"

namespace herd {

// Writes (through env) every current entry of store into directory's snapshot,
// saying it contains every log segment below first_live, and returns how many
// records it wrote. Atomic: snapshot.tmp is written and synced, renamed over
// the snapshot, and the directory synced, so a crash leaves either the old
// snapshot or the new one (plus a snapshot.tmp recovery removes).
//
// The store is read in pages (its lock held for one page at a time), so
// updates are never held up for long. An entry replaced during the scan
// moves to a later page, so the snapshot holds, for every client, a version
// at least as new as the one it had when the scan began.
//
// A stop request abandons the snapshot (snapshot.tmp removed; Cancelled).
absl::StatusOr<uint64_t> WriteSnapshot(DurableEnv& env,
                                       const std::string& directory,
                                       uint64_t first_live,
                                       const LocationStore& store,
                                       const std::stop_token& stop);

}  // namespace herd

#endif  // HERD_HERDNODE_DURABLE_DURABLE_SNAPSHOT_H_
