// herd-bench: a load generator for any server that speaks the herd's text
// protocol (IAMAT/WHATSAT). See docs/PERFORMANCE.md for how bench/run.sh
// uses it.
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "bench/herd_bench/herd_status.h"
#include "bench/herd_bench/load_generator.h"
#include "bench/herd_bench/propagation_probe.h"
#include "bench/herd_bench/report.h"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/io_context.hpp"
#include "common/whatsat_limits.h"
#include "fmt/format.h"

ABSL_FLAG(std::vector<std::string>, targets, {},
          "host:port of the servers to load, comma separated; connection i "
          "talks to target i mod count");
ABSL_FLAG(int32_t, connections, 16, "client connections carrying the load");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10),
          "how long the load (and the propagation probe) runs");
ABSL_FLAG(uint64_t, requests, 0,
          "stop the load after this many requests (0: only --duration)");
ABSL_FLAG(double, rate, 0,
          "requests per second over all connections; 0 = closed loop");
ABSL_FLAG(int32_t, pipeline, 1,
          "closed loop: requests each connection writes before reading the "
          "replies");
ABSL_FLAG(std::string, mix, "80:20", "IAMAT:WHATSAT weights");
ABSL_FLAG(int32_t, whatsat_radius_km, herd::bench::kWhatsatRadiusKm,
          "radius of the load's WHATSATs, 0 < r <= 50");
ABSL_FLAG(int32_t, whatsat_count, herd::bench::kWhatsatMaxResults,
          "most places the load's WHATSATs ask for, 0 < n <= 20");
ABSL_FLAG(bool, near_cities, false,
          "IAMATs put clients within about 300 m of one of a few large "
          "cities (default: uniform over the globe, mostly ocean)");
ABSL_FLAG(uint64_t, clients, 100000,
          "distinct client IDs, split between the connections");
ABSL_FLAG(std::string, propagation_from, "",
          "host:port of server A: the probe IAMATs fresh clients there");
ABSL_FLAG(std::string, propagation_to, "",
          "host:port of server B: the probe polls WHATSAT there until the "
          "update is visible");
ABSL_FLAG(std::string, propagation_to_grpc, "",
          "instead of --propagation_to: gRPC host:port of our node B, asked "
          "with herd.v1.HerdNode/GetLocation (for when WHATSAT cannot answer, "
          "e.g. no places provider)");
ABSL_FLAG(absl::Duration, propagation_interval, absl::Milliseconds(20),
          "time between propagation samples");
ABSL_FLAG(absl::Duration, propagation_poll_interval, absl::Microseconds(200),
          "looks at B start at most this often: the resolution of the "
          "propagation latency, traded against the load the looks add");
ABSL_FLAG(uint64_t, propagation_samples, 0,
          "stop the probe after this many samples (0: only --duration)");
ABSL_FLAG(absl::Duration, visibility_timeout, absl::Seconds(2),
          "an update B has not shown by then counts as never visible");
ABSL_FLAG(std::vector<std::string>, status_targets, {},
          "gRPC host:port of every node of a herd that serves "
          "herd.v1.HerdNode/GetStatus: gives messages per update");
ABSL_FLAG(std::string, json, "",
          "write the results as JSON here ('-': stdout)");
ABSL_FLAG(bool, strict, false,
          "exit 1 if any reply was wrong, any connection failed or any update "
          "never became visible");
ABSL_FLAG(int32_t, threads, 1, "event-loop threads of the generator");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5),
          "longest wait for a connect, a write or the next bytes of a reply");
ABSL_FLAG(absl::Duration, max_skew, absl::Seconds(60),
          "largest |time difference| an IAMAT reply may show");
ABSL_FLAG(std::string, id_prefix, "",
          "prefix of every client ID (default: random per run, so runs never "
          "collide)");
ABSL_FLAG(uint64_t, seed, 0, "random seed (0: random)");

namespace herd::bench {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct Config {
  LoadOptions load;
  bool run_load = false;
  PropagationOptions propagation;
  bool run_propagation = false;
  absl::Duration duration;
  uint64_t max_requests = 0;
  int threads = 1;
  std::vector<std::string> status_targets;
};

absl::StatusOr<Endpoint> EndpointFlag(std::string_view flag,
                                      std::string_view text) {
  auto endpoint = ParseHostPort(text);
  if (!endpoint.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("--{}: {}", flag,
                    static_cast<std::string>(endpoint.status().message())));
  }
  return endpoint;
}

absl::StatusOr<Config> ConfigFromFlags() {
  Config config;
  std::random_device entropy;
  uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (seed == 0) seed = (uint64_t{entropy()} << 32) | entropy();
  std::string prefix = absl::GetFlag(FLAGS_id_prefix);
  if (prefix.empty()) prefix = fmt::format("hb{:08x}", entropy());

  for (const std::string& text : absl::GetFlag(FLAGS_targets)) {
    auto endpoint = EndpointFlag("targets", text);
    if (!endpoint.ok()) return endpoint.status();
    config.load.targets.push_back(*std::move(endpoint));
  }
  auto mix = ParseMix(absl::GetFlag(FLAGS_mix));
  if (!mix.ok()) return mix.status();
  config.load.mix = *mix;
  config.load.shape.whatsat_radius_km = absl::GetFlag(FLAGS_whatsat_radius_km);
  config.load.shape.whatsat_max_results = absl::GetFlag(FLAGS_whatsat_count);
  config.load.shape.near_cities = absl::GetFlag(FLAGS_near_cities);
  if (config.load.shape.whatsat_radius_km < 1 ||
      config.load.shape.whatsat_radius_km > herd::kWhatsatMaxRadiusKm ||
      config.load.shape.whatsat_max_results < 1 ||
      config.load.shape.whatsat_max_results >
          static_cast<int>(herd::kWhatsatMaxResults)) {
    return absl::InvalidArgumentError(
        fmt::format("--whatsat_radius_km must be in [1, {}] and "
                    "--whatsat_count in [1, {}]",
                    herd::kWhatsatMaxRadiusKm, herd::kWhatsatMaxResults));
  }
  config.load.connections = absl::GetFlag(FLAGS_connections);
  config.load.rate = absl::GetFlag(FLAGS_rate);
  config.load.pipeline = absl::GetFlag(FLAGS_pipeline);
  config.load.clients = absl::GetFlag(FLAGS_clients);
  config.load.io_timeout = absl::GetFlag(FLAGS_timeout);
  config.load.max_skew = absl::GetFlag(FLAGS_max_skew);
  config.load.id_prefix = prefix;
  config.load.seed = seed;
  config.run_load = !config.load.targets.empty();
  if (config.load.connections < 1 || config.load.pipeline < 1 ||
      config.load.rate < 0 || config.load.clients < 1) {
    return absl::InvalidArgumentError(
        "--connections, --pipeline and --clients must be >= 1 and --rate >= 0");
  }

  const std::string from = absl::GetFlag(FLAGS_propagation_from);
  const std::string to = absl::GetFlag(FLAGS_propagation_to);
  const std::string grpc_to = absl::GetFlag(FLAGS_propagation_to_grpc);
  if (from.empty() != (to.empty() && grpc_to.empty()) ||
      (!to.empty() && !grpc_to.empty())) {
    return absl::InvalidArgumentError(
        "--propagation_from goes with one of --propagation_to and "
        "--propagation_to_grpc");
  }
  if (!from.empty()) {
    auto from_endpoint = EndpointFlag("propagation_from", from);
    if (!from_endpoint.ok()) return from_endpoint.status();
    if (grpc_to.empty()) {
      auto to_endpoint = EndpointFlag("propagation_to", to);
      if (!to_endpoint.ok()) return to_endpoint.status();
      config.propagation.to = *std::move(to_endpoint);
    }
    config.propagation.grpc_to = grpc_to;
    config.propagation.from = *std::move(from_endpoint);
    config.propagation.interval = absl::GetFlag(FLAGS_propagation_interval);
    config.propagation.max_samples = absl::GetFlag(FLAGS_propagation_samples);
    config.propagation.poll_interval =
        absl::GetFlag(FLAGS_propagation_poll_interval);
    config.propagation.visibility_timeout =
        absl::GetFlag(FLAGS_visibility_timeout);
    config.propagation.io_timeout = config.load.io_timeout;
    config.propagation.max_skew = config.load.max_skew;
    config.propagation.id_prefix = prefix;
    config.propagation.seed = seed ^ 0x9e3779b97f4a7c15ULL;
    config.run_propagation = true;
  }
  if (!config.run_load && !config.run_propagation) {
    return absl::InvalidArgumentError(
        "nothing to do: give --targets and/or --propagation_from/_to");
  }
  config.duration = absl::GetFlag(FLAGS_duration);
  config.max_requests = absl::GetFlag(FLAGS_requests);
  config.threads = absl::GetFlag(FLAGS_threads);
  if (config.threads < 1 || config.duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--threads and --duration must be > 0");
  }
  config.status_targets = absl::GetFlag(FLAGS_status_targets);
  return config;
}

// One event loop per thread, each with its own connections and stats, so
// the hot path shares nothing but the request budget.
struct Worker {
  asio::io_context context{1};
  LoadStats stats;
  std::exception_ptr failure;
};

void RunLoadAndProbe(const Config& config, RunResults& results) {
  const Clock::time_point start = Clock::now();
  RunBudget budget(start, start + absl::ToChronoNanoseconds(config.duration),
                   config.max_requests);
  std::vector<std::unique_ptr<Worker>> workers;
  workers.reserve(static_cast<size_t>(config.threads) + 1);
  for (int i = 0; i < config.threads; ++i) {
    workers.push_back(std::make_unique<Worker>());
  }
  const auto remember_failure = [](Worker& worker) {
    return [&worker](const std::exception_ptr& failure) {
      if (failure && !worker.failure) worker.failure = failure;
    };
  };
  if (config.run_load) {
    for (int i = 0; i < config.load.connections; ++i) {
      Worker& worker = *workers[static_cast<size_t>(i % config.threads)];
      asio::co_spawn(worker.context,
                     RunLoadConnection(config.load, i, budget, worker.stats),
                     remember_failure(worker));
    }
  }
  if (config.run_propagation) {
    // The probe gets a loop of its own, so its timing does not include
    // waiting behind the load's connections.
    workers.push_back(std::make_unique<Worker>());
    asio::co_spawn(
        workers.back()->context,
        RunPropagationProbe(config.propagation, budget, results.propagation),
        remember_failure(*workers.back()));
  }
  {
    std::vector<std::jthread> threads;
    threads.reserve(workers.size());
    for (auto& worker : workers) {
      threads.emplace_back([&worker] { worker->context.run(); });
    }
  }  // joined here
  for (const auto& worker : workers) {
    if (worker->failure) {
      try {
        std::rethrow_exception(worker->failure);
      } catch (const std::exception& error) {
        results.load.errors.Add("internal", error.what());
      }
    }
    results.load.Merge(worker->stats);
  }
  results.load_elapsed = results.load.finished > start
                             ? results.load.finished - start
                             : Clock::duration::zero();
}

int Run(const Config& config) {
  RunResults results;
  if (config.run_load) results.load_options = &config.load;
  if (config.run_propagation) results.propagation_options = &config.propagation;

  std::optional<HerdCounters> before;
  if (!config.status_targets.empty()) {
    auto counters =
        ReadSettledHerdCounters(config.status_targets, absl::Seconds(2));
    if (counters.ok()) {
      before = *counters;
    } else {
      results.messages_per_update_note =
          static_cast<std::string>(counters.status().message());
    }
  } else {
    results.messages_per_update_note =
        "not exposed by the server under test (no --status_targets)";
  }

  RunLoadAndProbe(config, results);

  if (before) {
    auto after =
        ReadSettledHerdCounters(config.status_targets, absl::Seconds(5));
    const uint64_t updates =
        results.load.iamat_ok + results.propagation.iamat_ok;
    if (!after.ok()) {
      results.messages_per_update_note =
          static_cast<std::string>(after.status().message());
    } else {
      results.herd_clients = after->clients;
      if (updates > 0) {
        results.messages_per_update =
            static_cast<double>(after->peer_updates_received -
                                before->peer_updates_received) /
            static_cast<double>(updates);
      }
    }
  }

  const nlohmann::json json = ResultsToJson(results);
  const std::string path = absl::GetFlag(FLAGS_json);
  if (path == "-") {
    std::cout << json.dump(2) << "\n";
    std::cerr << Summary(json);
  } else {
    std::cout << Summary(json);
    if (!path.empty()) {
      std::ofstream out(path);
      out << json.dump(2) << "\n";
      if (!out) {
        std::cerr << "herd-bench: cannot write " << path << "\n";
        return 1;
      }
    }
  }
  if (absl::GetFlag(FLAGS_strict) && TotalProblems(results) > 0) {
    std::cerr << fmt::format("herd-bench: --strict: {} problems\n",
                             TotalProblems(results));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace herd::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "load generator for servers of the herd text protocol.\n"
      "  herd-bench --targets=127.0.0.1:12003 --connections=32 "
      "--duration=10s --mix=80:20\n"
      "  herd-bench --propagation_from=127.0.0.1:12003 "
      "--propagation_to=127.0.0.1:12002");
  absl::ParseCommandLine(argc, argv);
  auto config = herd::bench::ConfigFromFlags();
  if (!config.ok()) {
    std::cerr << "herd-bench: " << config.status().message() << "\n";
    return 2;
  }
  return herd::bench::Run(*config);
}
