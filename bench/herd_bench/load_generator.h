// The load: N connections sending IAMAT/WHATSAT, closed-loop (each
// connection waits for its replies) or at a fixed rate.
#ifndef HERD_BENCH_HERD_BENCH_LOAD_GENERATOR_H_
#define HERD_BENCH_HERD_BENCH_LOAD_GENERATOR_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "bench/herd_bench/line_connection.h"
#include "bench/herd_bench/run_stats.h"
#include "bench/herd_bench/workload.h"
#include "boost/asio/any_io_executor.hpp"
#include "boost/asio/awaitable.hpp"

namespace herd::bench {

struct LoadOptions {
  std::vector<Endpoint> targets;  // connection i talks to targets[i % size]
  int connections = 16;
  // Requests per second over all connections; 0 means closed loop.
  double rate = 0;
  // Closed loop only: requests written back to back before reading replies.
  int pipeline = 1;
  Mix mix;
  WorkloadShape shape;
  uint64_t clients = 100000;  // split evenly between connections
  absl::Duration io_timeout = absl::Seconds(5);
  absl::Duration max_skew = absl::Seconds(60);
  std::string id_prefix;
  uint64_t seed = 1;
};

// Shared by every connection of every thread: when to stop.
class RunBudget {
 public:
  RunBudget(std::chrono::steady_clock::time_point start,
            std::chrono::steady_clock::time_point deadline,
            uint64_t max_requests);

  std::chrono::steady_clock::time_point start() const { return start_; }
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  bool Expired() const;
  // Grants up to `wanted` requests (fewer near --requests, 0 when spent).
  uint64_t Take(uint64_t wanted);

 private:
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point deadline_;
  uint64_t max_requests_;  // 0: unlimited
  std::atomic<uint64_t> taken_{0};
};

// One connection's share of the load, until the budget is spent. It
// reconnects after a failure (counting the requests it lost as errors).
boost::asio::awaitable<void> RunLoadConnection(const LoadOptions& options,
                                               int connection_index,
                                               RunBudget& budget,
                                               LoadStats& stats);

}  // namespace herd::bench

#endif  // HERD_BENCH_HERD_BENCH_LOAD_GENERATOR_H_
