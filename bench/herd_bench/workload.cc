#include "bench/herd_bench/workload.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <iterator>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace herd::bench {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

struct City {
  double latitude;
  double longitude;
};
// Centres of a few of the world's largest cities (rounded to 0.01 degree).
constexpr City kLargeCities[] = {
    {35.69, 139.69},   // Tokyo
    {28.61, 77.21},    // Delhi
    {31.23, 121.47},   // Shanghai
    {-23.55, -46.63},  // Sao Paulo
    {19.43, -99.13},   // Mexico City
    {30.04, 31.24},    // Cairo
    {19.08, 72.88},    // Mumbai
    {39.90, 116.41},   // Beijing
    {40.71, -74.01},   // New York
    {51.51, -0.13},    // London
    {48.86, 2.35},     // Paris
    {34.05, -118.24},  // Los Angeles
};
// About 300 m in latitude.
constexpr double kCityJitterDegrees = 0.003;

bool ParseWeight(std::string_view text, uint32_t& weight) {
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, weight);
  return ec == std::errc() && ptr == end;
}

}  // namespace

absl::StatusOr<Mix> ParseMix(std::string_view text) {
  const size_t colon = text.find(':');
  Mix mix;
  if (colon == std::string_view::npos ||
      !ParseWeight(text.substr(0, colon), mix.iamat) ||
      !ParseWeight(text.substr(colon + 1), mix.whatsat) || mix.iamat == 0) {
    return absl::InvalidArgumentError(
        fmt::format("--mix must be IAMAT:WHATSAT weights with IAMAT > 0, "
                    "e.g. 80:20; got '{}'",
                    text));
  }
  return mix;
}

std::string FormatCoordinates(double latitude, double longitude) {
  return fmt::format("{:+.6f}{:+.6f}", latitude, longitude);
}

std::string FormatClientTime(int64_t unix_nanos) {
  return fmt::format("{}.{:09}", unix_nanos / kNanosPerSecond,
                     unix_nanos % kNanosPerSecond);
}

int64_t StrictlyIncreasingClock::Now() {
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  last_ = std::max(now, last_ + 1);
  return last_;
}

ConnectionWorkload::ConnectionWorkload(std::string id_prefix, uint64_t clients,
                                       Mix mix, uint64_t seed,
                                       WorkloadShape shape)
    : id_prefix_(std::move(id_prefix)),
      clients_(std::max<uint64_t>(clients, 1)),
      mix_(mix),
      shape_(shape),
      random_(seed),
      track_clients_(mix.whatsat > 0) {
  if (track_clients_) {
    known_at_lines_.resize(clients_);
    in_flight_.resize(clients_, false);
  }
}

std::string ConnectionWorkload::ClientId(size_t index) const {
  return fmt::format("{}.{}", id_prefix_, index);
}

Request ConnectionWorkload::Next() {
  std::uniform_int_distribution<uint32_t> pick(0,
                                               mix_.iamat + mix_.whatsat - 1);
  if (pick(random_) < mix_.iamat || confirmed_clients_.empty()) {
    return NextIamat();
  }
  std::uniform_int_distribution<size_t> which(0, confirmed_clients_.size() - 1);
  const size_t index = confirmed_clients_[which(random_)];
  // A pipelined batch may hold a newer IAMAT for this client; the herd may
  // answer with either report, so ask about it later instead.
  if (in_flight_[index]) return NextIamat();
  in_flight_[index] = true;
  Request request;
  request.kind = Request::Kind::kWhatsat;
  request.client_index = index;
  request.client_id = ClientId(index);
  request.expected_at_line = known_at_lines_[index];
  request.max_results = shape_.whatsat_max_results;
  request.line =
      fmt::format("WHATSAT {} {} {}\n", request.client_id,
                  shape_.whatsat_radius_km, shape_.whatsat_max_results);
  return request;
}

std::string ConnectionWorkload::NextCoordinates() {
  if (shape_.near_cities) {
    std::uniform_int_distribution<size_t> which(0, std::size(kLargeCities) - 1);
    std::uniform_real_distribution<double> jitter(-kCityJitterDegrees,
                                                  kCityJitterDegrees);
    const City& city = kLargeCities[which(random_)];
    return FormatCoordinates(city.latitude + jitter(random_),
                             city.longitude + jitter(random_));
  }
  std::uniform_real_distribution<double> latitude(-90.0, 90.0);
  std::uniform_real_distribution<double> longitude(-180.0, 180.0);
  return FormatCoordinates(latitude(random_), longitude(random_));
}

Request ConnectionWorkload::NextIamat() {
  Request request;
  request.kind = Request::Kind::kIamat;
  // The herd runs a connection's pipelined requests concurrently (replies
  // still come in order), so a WHATSAT in flight for a client could see an
  // IAMAT sent after it: pass over such clients (all of them at most once).
  for (uint64_t tries = 0;
       track_clients_ && tries < clients_ && in_flight_[next_iamat_client_];
       ++tries) {
    next_iamat_client_ = (next_iamat_client_ + 1) % clients_;
  }
  request.client_index = next_iamat_client_;
  next_iamat_client_ = (next_iamat_client_ + 1) % clients_;
  request.client_id = ClientId(request.client_index);
  request.coordinates = NextCoordinates();
  request.client_time = FormatClientTime(clock_.Now());
  request.line = fmt::format("IAMAT {} {} {}\n", request.client_id,
                             request.coordinates, request.client_time);
  if (track_clients_) in_flight_[request.client_index] = true;
  return request;
}

void ConnectionWorkload::Confirmed(const Request& request,
                                   std::string_view at_line) {
  if (!track_clients_) return;
  const size_t index = request.client_index;
  in_flight_[index] = false;
  if (request.kind != Request::Kind::kIamat) return;
  if (known_at_lines_[index].empty()) confirmed_clients_.push_back(index);
  known_at_lines_[index] = std::string(at_line);
}

void ConnectionWorkload::Failed(const Request& request) {
  if (!track_clients_) return;
  const size_t index = request.client_index;
  in_flight_[index] = false;
  if (request.kind != Request::Kind::kIamat) return;
  // The herd may or may not hold this report now: never ask about it again.
  if (!known_at_lines_[index].empty()) {
    std::erase(confirmed_clients_, index);
    known_at_lines_[index].clear();
  }
}

}  // namespace herd::bench
