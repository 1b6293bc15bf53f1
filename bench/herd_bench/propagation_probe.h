// Propagation latency through the text protocol alone, so it works for any
// herd: IAMAT a fresh client at server A, then poll WHATSAT for it at server
// B on a second connection until B answers with the AT line.
#ifndef HERD_BENCH_HERD_BENCH_PROPAGATION_PROBE_H_
#define HERD_BENCH_HERD_BENCH_PROPAGATION_PROBE_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "bench/herd_bench/line_connection.h"
#include "bench/herd_bench/load_generator.h"
#include "bench/herd_bench/run_stats.h"
#include "boost/asio/awaitable.hpp"

namespace herd::bench {

struct PropagationOptions {
  Endpoint from;
  // B: its text address (WHATSAT) or, if grpc_to is set, our node's gRPC
  // address (GetLocation).
  Endpoint to;
  std::string grpc_to;
  // One sample starts every interval (a slow one delays the next).
  absl::Duration interval = absl::Milliseconds(20);
  uint64_t max_samples = 0;  // 0: until the run budget's deadline
  // Looks at B start at most this often (the measurement's resolution).
  absl::Duration poll_interval = absl::Microseconds(200);
  // B must show the update within this long, or it counts as never visible.
  absl::Duration visibility_timeout = absl::Seconds(2);
  absl::Duration io_timeout = absl::Seconds(5);
  absl::Duration max_skew = absl::Seconds(60);
  std::string id_prefix;
  uint64_t seed = 1;
};

boost::asio::awaitable<void> RunPropagationProbe(
    const PropagationOptions& options, const RunBudget& budget,
    PropagationStats& stats);

}  // namespace herd::bench

#endif  // HERD_BENCH_HERD_BENCH_PROPAGATION_PROBE_H_
