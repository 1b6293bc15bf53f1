// What a run counts: correct replies and their latencies, errors by kind,
// and propagation samples. Each thread fills its own and they are merged.
#ifndef HERD_BENCH_HERD_BENCH_RUN_STATS_H_
#define HERD_BENCH_HERD_BENCH_RUN_STATS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bench/herd_bench/latency_histogram.h"

namespace herd::bench {

class ErrorCounts {
 public:
  // `kind` is a short stable key ("question_mark", "timeout", ...); the
  // first few details are kept so a report says what actually went wrong.
  void Add(std::string_view kind, std::string detail);
  void Merge(const ErrorCounts& other);

  uint64_t total() const { return total_; }
  const std::map<std::string, uint64_t>& by_kind() const { return by_kind_; }
  const std::vector<std::string>& examples() const { return examples_; }

 private:
  static constexpr size_t kMaxExamples = 5;
  uint64_t total_ = 0;
  std::map<std::string, uint64_t> by_kind_;
  std::vector<std::string> examples_;
};

struct LoadStats {
  uint64_t iamat_ok = 0;
  uint64_t whatsat_ok = 0;
  // Places listed by the correct WHATSAT replies, summed.
  uint64_t whatsat_places = 0;
  LatencyHistogram all;
  LatencyHistogram iamat;
  LatencyHistogram whatsat;
  ErrorCounts errors;
  // When the last request of this share of the load was answered.
  std::chrono::steady_clock::time_point finished{};

  void Merge(const LoadStats& other);
};

struct PropagationStats {
  // From sending IAMAT to server A until server B first answered WHATSAT
  // for that client with its AT line.
  LatencyHistogram visible_after;
  uint64_t samples = 0;
  // Updates B never showed within the visibility time-out.
  uint64_t never_visible = 0;
  uint64_t polls = 0;
  // How B was asked: "WHATSAT" or "GetLocation".
  std::string method;
  uint64_t iamat_ok = 0;
  ErrorCounts errors;
};

}  // namespace herd::bench

#endif  // HERD_BENCH_HERD_BENCH_RUN_STATS_H_
