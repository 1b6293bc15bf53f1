// Messages per update, where the server under test exposes it: our herd's
// nodes count the updates they receive from each peer (GetStatus).
#ifndef HERD_BENCH_HERD_BENCH_HERD_STATUS_H_
#define HERD_BENCH_HERD_BENCH_HERD_STATUS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace herd::bench {

struct HerdCounters {
  // Summed over every node and every linked peer: updates that crossed a
  // link (live and catch-up), duplicates included.
  uint64_t peer_updates_received = 0;
  // Clients each node holds, summed (a one-node herd: the clients it tracks).
  uint64_t clients = 0;
};

// GetStatus on every node (gRPC host:port), summed.
absl::StatusOr<HerdCounters> ReadHerdCounters(
    const std::vector<std::string>& grpc_targets, absl::Duration timeout);

// Reads until two readings agree (flooding has settled) or `settle_within`
// passes; returns the last reading.
absl::StatusOr<HerdCounters> ReadSettledHerdCounters(
    const std::vector<std::string>& grpc_targets, absl::Duration settle_within);

}  // namespace herd::bench

#endif  // HERD_BENCH_HERD_BENCH_HERD_STATUS_H_
