// The results of a run as JSON (for bench/run.sh) and as a short summary for
// a person at a terminal.
#ifndef HERD_BENCH_HERD_BENCH_REPORT_H_
#define HERD_BENCH_HERD_BENCH_REPORT_H_

#include <chrono>
#include <optional>
#include <string>

#include "bench/herd_bench/load_generator.h"
#include "bench/herd_bench/propagation_probe.h"
#include "bench/herd_bench/run_stats.h"
#include "nlohmann/json.hpp"

namespace herd::bench {

struct RunResults {
  const LoadOptions* load_options = nullptr;  // null: no load was run
  LoadStats load;
  std::chrono::steady_clock::duration load_elapsed{};
  const PropagationOptions* propagation_options = nullptr;  // null: no probe
  PropagationStats propagation;
  std::optional<double> messages_per_update;
  // Clients held by the nodes of --status_targets after the run, summed.
  std::optional<uint64_t> herd_clients;
  std::string messages_per_update_note;
};

nlohmann::json ResultsToJson(const RunResults& results);
// Every wrong reply, failed connection and never-visible update.
uint64_t TotalProblems(const RunResults& results);
std::string Summary(const nlohmann::json& results);

}  // namespace herd::bench

#endif  // HERD_BENCH_HERD_BENCH_REPORT_H_
