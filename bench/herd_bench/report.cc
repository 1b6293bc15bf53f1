#include "bench/herd_bench/report.h"

#include <vector>

#include "common/host_port.h"
#include "fmt/format.h"

namespace herd::bench {
namespace {

double Micros(std::chrono::nanoseconds value) {
  return static_cast<double>(value.count()) / 1000.0;
}

nlohmann::json LatencyJson(const LatencyHistogram& histogram) {
  return {{"count", histogram.count()},
          {"p50_us", Micros(histogram.Percentile(50))},
          {"p99_us", Micros(histogram.Percentile(99))},
          {"p999_us", Micros(histogram.Percentile(99.9))},
          {"max_us", Micros(histogram.Max())},
          {"mean_us", Micros(histogram.Mean())}};
}

nlohmann::json ErrorsJson(const ErrorCounts& errors) {
  return {{"total", errors.total()},
          {"by_kind", errors.by_kind()},
          {"examples", errors.examples()}};
}

nlohmann::json LoadJson(const RunResults& results) {
  const LoadOptions& options = *results.load_options;
  std::vector<std::string> targets;
  for (const Endpoint& target : options.targets) {
    targets.push_back(FormatHostPort(target.host, target.port));
  }
  const double elapsed_s =
      std::chrono::duration<double>(results.load_elapsed).count();
  const uint64_t ok = results.load.iamat_ok + results.load.whatsat_ok;
  return {
      {"targets", targets},
      {"connections", options.connections},
      {"mode", options.rate > 0 ? "fixed_rate" : "closed_loop"},
      {"rate", options.rate},
      {"pipeline", options.rate > 0 ? 1 : options.pipeline},
      {"mix", fmt::format("{}:{}", options.mix.iamat, options.mix.whatsat)},
      {"clients", options.clients},
      {"elapsed_s", elapsed_s},
      {"requests_ok", ok},
      {"iamat_ok", results.load.iamat_ok},
      {"whatsat_ok", results.load.whatsat_ok},
      {"whatsat_radius_km", options.shape.whatsat_radius_km},
      {"whatsat_max_results", options.shape.whatsat_max_results},
      {"near_cities", options.shape.near_cities},
      {"whatsat_places_mean",
       results.load.whatsat_ok > 0
           ? static_cast<double>(results.load.whatsat_places) /
                 static_cast<double>(results.load.whatsat_ok)
           : 0},
      {"throughput_rps",
       elapsed_s > 0 ? static_cast<double>(ok) / elapsed_s : 0},
      {"latency_us", LatencyJson(results.load.all)},
      {"iamat_latency_us", LatencyJson(results.load.iamat)},
      {"whatsat_latency_us", LatencyJson(results.load.whatsat)},
      {"errors", ErrorsJson(results.load.errors)},
  };
}

nlohmann::json PropagationJson(const RunResults& results) {
  const PropagationOptions& options = *results.propagation_options;
  const PropagationStats& stats = results.propagation;
  return {{"from", FormatHostPort(options.from.host, options.from.port)},
          {"to", options.grpc_to.empty()
                     ? FormatHostPort(options.to.host, options.to.port)
                     : options.grpc_to},
          {"method", stats.method},
          {"samples", stats.samples},
          {"visible", stats.visible_after.count()},
          {"never_visible", stats.never_visible},
          {"polls", stats.polls},
          {"latency_us", LatencyJson(stats.visible_after)},
          {"errors", ErrorsJson(stats.errors)}};
}

}  // namespace

nlohmann::json ResultsToJson(const RunResults& results) {
  nlohmann::json json = {{"problems", TotalProblems(results)}};
  json["load"] = results.load_options ? LoadJson(results) : nlohmann::json();
  json["propagation"] =
      results.propagation_options ? PropagationJson(results) : nlohmann::json();
  json["messages_per_update"] =
      results.messages_per_update ? nlohmann::json(*results.messages_per_update)
                                  : nlohmann::json();
  json["messages_per_update_note"] = results.messages_per_update_note;
  json["herd_clients"] = results.herd_clients
                             ? nlohmann::json(*results.herd_clients)
                             : nlohmann::json();
  return json;
}

uint64_t TotalProblems(const RunResults& results) {
  return results.load.errors.total() + results.propagation.errors.total() +
         results.propagation.never_visible;
}

std::string Summary(const nlohmann::json& results) {
  std::string text;
  const auto& load = results["load"];
  if (!load.is_null()) {
    const auto& latency = load["latency_us"];
    text += fmt::format(
        "load: {} ok ({} IAMAT, {} WHATSAT) in {:.2f} s = {:.0f} req/s; "
        "latency p50 {:.1f} us, p99 {:.1f} us, p99.9 {:.1f} us; errors {}\n",
        load["requests_ok"].get<uint64_t>(), load["iamat_ok"].get<uint64_t>(),
        load["whatsat_ok"].get<uint64_t>(), load["elapsed_s"].get<double>(),
        load["throughput_rps"].get<double>(), latency["p50_us"].get<double>(),
        latency["p99_us"].get<double>(), latency["p999_us"].get<double>(),
        load["errors"]["total"].get<uint64_t>());
  }
  const auto& propagation = results["propagation"];
  if (!propagation.is_null()) {
    const auto& latency = propagation["latency_us"];
    text += fmt::format(
        "propagation {} -> {} ({}): {} samples, {} visible, {} never visible; "
        "p50 {:.1f} us, p99 {:.1f} us; errors {}\n",
        propagation["from"].get<std::string>(),
        propagation["to"].get<std::string>(),
        propagation["method"].get<std::string>(),
        propagation["samples"].get<uint64_t>(),
        propagation["visible"].get<uint64_t>(),
        propagation["never_visible"].get<uint64_t>(),
        latency["p50_us"].get<double>(), latency["p99_us"].get<double>(),
        propagation["errors"]["total"].get<uint64_t>());
  }
  if (!results["messages_per_update"].is_null()) {
    text += fmt::format("messages per update: {:.2f}\n",
                        results["messages_per_update"].get<double>());
  } else if (!results["messages_per_update_note"].get<std::string>().empty()) {
    text += fmt::format("messages per update: {}\n",
                        results["messages_per_update_note"].get<std::string>());
  }
  for (const auto* section : {&load, &propagation}) {
    if (section->is_null()) continue;
    for (const auto& example : (*section)["errors"]["examples"]) {
      text += fmt::format("  error: {}\n", example.get<std::string>());
    }
  }
  return text;
}

}  // namespace herd::bench
