// location_store_bench: speed and memory of herdnode's LocationStore.
//
//   location_store_bench [google benchmark flags]
//       Offer/Get/EntriesAfter throughput (Google Benchmark), on stores of
//       16 Ki and 1 Mi clients. BM_MakeLocation is the cost of building the
//       offered location alone: subtract it from the Offer numbers.
//   location_store_bench --memory_clients=N
//       Fills one store with N distinct clients and reports heap and RSS
//       growth per client, then per-call latency percentiles of Offer (new
//       client, newer, stale), Get and EntriesAfter, and the memory after
//       every client was replaced once.
//
// The texts are realistic: client IDs of 10-20 bytes, coordinates like
// +34.068930-118.445127 and client times like 1621464827.959498503. Measures,
// asserts nothing; not run by the tests.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/location_text.h"
#include "herd/v1/herd.pb.h"
#include "herdnode/store/location_store.h"
#include "spdlog/fmt/fmt.h"

namespace herd {
namespace {

using Clock = std::chrono::steady_clock;

// Prefixes of 4 to 14 bytes; with six hex digits an ID has 10 to 20.
constexpr std::array<std::string_view, 6> kIdPrefixes = {
    "kiwi",        "lemon.",        "host-cs-",
    "phone.ucla.", "sensor.north-", "tablet.cs.ucla"};
constexpr std::array<std::string_view, 5> kServers = {
    "Alford", "Bolden", "Hamilton", "Parker", "Powell"};
constexpr int64_t kFirstSecond = 1621464827;
constexpr int64_t kNanosPerSecond = 1'000'000'000;

// A well-mixed 64-bit hash (splitmix64's finalizer), so coordinates and
// visiting orders look random but are reproducible.
uint64_t Mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Builds the locations the benchmarks offer. Client times grow with every
// call of Fill in the process, so each filled location is newer than all
// before it (with threads, than all before it on the same thread).
class LocationMaker {
 public:
  void Fill(uint64_t client, v1::Location& location) {
    FillClient(client, location);
    SetTime(kFirstSecond * kNanosPerSecond + ++tick, location);
  }

  // The same client with a time stamp older than any Fill's.
  void FillStale(uint64_t client, v1::Location& location) {
    FillClient(client, location);
    SetTime(kFirstSecond * kNanosPerSecond - 1, location);
  }

  static std::string ClientId(uint64_t client) {
    return fmt::format("{}{:06x}", kIdPrefixes[client % kIdPrefixes.size()],
                       client);
  }

 private:
  static void FillClient(uint64_t client, v1::Location& location) {
    location.set_client_id(ClientId(client));
    const uint64_t h = Mix(client);
    const double latitude = static_cast<double>(h % 180'000'000) / 1e6 - 90.0;
    const double longitude =
        static_cast<double>((h >> 32) % 360'000'000) / 1e6 - 180.0;
    const std::string text =
        fmt::format("{:+010.6f}{:+011.6f}", latitude, longitude);
    const Coordinates parsed = *ParseCoordinates(text);
    location.set_latitude(parsed.latitude);
    location.set_longitude(parsed.longitude);
    location.set_coordinates_text(text);
    location.set_origin_server(std::string(kServers[client % kServers.size()]));
  }

  static void SetTime(int64_t total_nanos, v1::Location& location) {
    const int64_t seconds = total_nanos / kNanosPerSecond;
    const int64_t nanos = total_nanos % kNanosPerSecond;
    location.set_client_time_text(fmt::format("{}.{:09d}", seconds, nanos));
    location.mutable_client_time()->set_seconds(seconds);
    location.mutable_client_time()->set_nanos(static_cast<int32_t>(nanos));
    // The server received it a quarter second later.
    location.mutable_server_time()->set_seconds(seconds);
    location.mutable_server_time()->set_nanos(
        static_cast<int32_t>((nanos + 250'000'000) % kNanosPerSecond));
  }

  static inline std::atomic<int64_t> tick = 0;
};

// Stores shared by the benchmarks, filled once per size.
struct FilledStore {
  LocationStore store;
  uint64_t clients = 0;
};

FilledStore& StoreWith(uint64_t clients) {
  static std::map<uint64_t, std::unique_ptr<FilledStore>> stores;
  auto& filled = stores[clients];
  if (filled == nullptr) {
    filled = std::make_unique<FilledStore>();
    filled->clients = clients;
    LocationMaker maker;
    v1::Location location;
    for (uint64_t c = 0; c < clients; ++c) {
      maker.Fill(c, location);
      filled->store.Offer(location);
    }
  }
  return *filled;
}

// The client a benchmark visits at step i: all of them, in random order.
uint64_t Visit(uint64_t i, uint64_t clients) { return Mix(i) % clients; }

void BM_MakeLocation(benchmark::State& state) {
  LocationMaker maker;
  v1::Location location;
  uint64_t i = 0;
  for (auto _ : state) {
    maker.Fill(Visit(i++, 1 << 20), location);
    benchmark::DoNotOptimize(location);
  }
}
BENCHMARK(BM_MakeLocation);

void BM_OfferNewClient(benchmark::State& state) {
  LocationStore store;
  LocationMaker maker;
  v1::Location location;
  uint64_t client = 0;
  for (auto _ : state) {
    maker.Fill(client++, location);
    benchmark::DoNotOptimize(store.Offer(location));
  }
}
BENCHMARK(BM_OfferNewClient);

// Every iteration offers a location of some client of filled: newer than
// what it holds, or older (stale). Threads visit the clients in different
// orders.
void OfferToFilled(benchmark::State& state, FilledStore& filled, bool stale) {
  LocationMaker maker;
  v1::Location location;
  uint64_t i = static_cast<uint64_t>(state.thread_index()) << 40;
  for (auto _ : state) {
    const uint64_t client = Visit(i++, filled.clients);
    if (stale) {
      maker.FillStale(client, location);
    } else {
      maker.Fill(client, location);
    }
    benchmark::DoNotOptimize(filled.store.Offer(location));
  }
}

void BM_OfferNewer(benchmark::State& state) {
  OfferToFilled(state, StoreWith(static_cast<uint64_t>(state.range(0))),
                /*stale=*/false);
}
BENCHMARK(BM_OfferNewer)->Arg(1 << 14)->Arg(1 << 20);

void BM_OfferStale(benchmark::State& state) {
  OfferToFilled(state, StoreWith(static_cast<uint64_t>(state.range(0))),
                /*stale=*/true);
}
BENCHMARK(BM_OfferStale)->Arg(1 << 14)->Arg(1 << 20);

void BM_Get(benchmark::State& state) {
  FilledStore& filled = StoreWith(static_cast<uint64_t>(state.range(0)));
  uint64_t i = 0;
  for (auto _ : state) {
    const std::string id = LocationMaker::ClientId(Visit(i++, filled.clients));
    benchmark::DoNotOptimize(filled.store.Get(id));
  }
}
BENCHMARK(BM_Get)->Arg(1 << 14)->Arg(1 << 20);

void BM_EntriesAfter1000(benchmark::State& state) {
  FilledStore& filled = StoreWith(static_cast<uint64_t>(state.range(0)));
  uint64_t i = 0;
  for (auto _ : state) {
    const uint64_t after = Visit(i++, filled.store.last_seq());
    benchmark::DoNotOptimize(filled.store.EntriesAfter(after, 1000));
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_EntriesAfter1000)->Arg(1 << 20);

// Two threads offering to one store (the node's gRPC and gateway threads).
// Each thread's maker interleaves with the other's in time, so a few offers
// may come out stale; the mix is the same for every store design.
void BM_OfferNewerTwoThreads(benchmark::State& state) {
  static FilledStore& filled = StoreWith(1 << 20);
  OfferToFilled(state, filled, /*stale=*/false);
}
BENCHMARK(BM_OfferNewerTwoThreads)->Threads(2)->UseRealTime();

// ---- --memory_clients mode ----

// Resident set size in bytes from /proc/self/statm.
int64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0;
  int64_t resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// Bytes handed out by malloc and not freed (small and mmapped blocks).
int64_t HeapBytes() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<int64_t>(info.uordblks + info.hblkhd);
}

struct Memory {
  int64_t rss = RssBytes();
  int64_t heap = HeapBytes();
};

void PrintGrowth(const char* what, const Memory& before, uint64_t clients) {
  const Memory now;
  std::printf(
      "%-34s heap %7.1f B/client   RSS %7.1f B/client\n", what,
      static_cast<double>(now.heap - before.heap) /
          static_cast<double>(clients),
      static_cast<double>(now.rss - before.rss) / static_cast<double>(clients));
}

// Nanoseconds per call, one sample per call.
class Latencies {
 public:
  explicit Latencies(size_t expected) { samples_.reserve(expected); }

  template <typename Call>
  void Time(Call call) {
    const auto start = Clock::now();
    call();
    samples_.push_back(static_cast<float>(
        std::chrono::duration<double, std::nano>(Clock::now() - start)
            .count()));
  }

  void Print(const char* what) {
    std::sort(samples_.begin(), samples_.end());
    auto at = [&](double p) {
      return samples_[std::min(
          samples_.size() - 1,
          static_cast<size_t>(p * static_cast<double>(samples_.size())))];
    };
    double sum = 0;
    for (float s : samples_) sum += s;
    std::printf(
        "%-22s n=%-8zu mean %7.0f ns  p50 %6.0f  p90 %6.0f  p99 %6.0f  "
        "p99.9 %7.0f  max %8.0f\n",
        what, samples_.size(), sum / static_cast<double>(samples_.size()),
        at(0.5), at(0.9), at(0.99), at(0.999), samples_.back());
    samples_.clear();
  }

 private:
  std::vector<float> samples_;
};

int MeasureMemory(uint64_t clients) {
  fmt::print("LocationStore with {} clients\n", clients);
  // The latency samples are allocated first, so they are not counted.
  Latencies latencies(clients);
  LocationMaker maker;
  v1::Location location;
  maker.Fill(0, location);  // the reusable message's own buffers, up front
  const Memory empty;
  auto store = std::make_unique<LocationStore>();
  for (uint64_t c = 0; c < clients; ++c) {
    maker.Fill(c, location);
    latencies.Time([&] { store->Offer(location); });
  }
  PrintGrowth("after filling", empty, clients);
  latencies.Print("Offer (new client)");

  for (uint64_t i = 0; i < clients; ++i) {
    const std::string id = LocationMaker::ClientId(Visit(i, clients));
    latencies.Time([&] { benchmark::DoNotOptimize(store->Get(id)); });
  }
  latencies.Print("Get");

  for (uint64_t i = 0; i < clients; ++i) {
    maker.FillStale(Visit(i, clients), location);
    latencies.Time([&] { store->Offer(location); });
  }
  latencies.Print("Offer (stale)");

  // Every client replaced once, in random order: replaced entries leave
  // garbage behind in some designs.
  for (uint64_t i = 0; i < clients; ++i) {
    maker.Fill(Visit(i, clients), location);
    latencies.Time([&] { store->Offer(location); });
  }
  latencies.Print("Offer (newer)");

  uint64_t after = 0;
  for (bool more = true; more;) {
    StorePage page;
    latencies.Time([&] { page = store->EntriesAfter(after, 1000); });
    more = page.more;
    if (!page.entries.empty()) after = page.entries.back().seq;
  }
  latencies.Print("EntriesAfter (1000)");
  PrintGrowth("after ~1 replacement per client", empty, clients);
  fmt::print("size {}, last_seq {}\n", store->size(), store->last_seq());
  return 0;
}

}  // namespace
}  // namespace herd

int main(int argc, char** argv) {
  constexpr std::string_view kMemoryFlag = "--memory_clients=";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with(kMemoryFlag)) {
      const std::string_view value = arg.substr(kMemoryFlag.size());
      int64_t clients = 0;
      const auto [end, error] =
          std::from_chars(value.data(), value.data() + value.size(), clients);
      if (error != std::errc{} || end != value.data() + value.size() ||
          clients <= 0) {
        std::fprintf(stderr, "--memory_clients needs a count > 0\n");
        return 2;
      }
      return herd::MeasureMemory(static_cast<uint64_t>(clients));
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
