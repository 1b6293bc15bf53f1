// What the load generator sends: the IAMAT/WHATSAT mix, a connection's own
// slice of client IDs, and well-formed request lines.
#ifndef HERD_BENCH_HERD_BENCH_WORKLOAD_H_
#define HERD_BENCH_HERD_BENCH_WORKLOAD_H_

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace herd::bench {

// Relative weights of the two client commands, e.g. "80:20".
struct Mix {
  uint32_t iamat = 1;
  uint32_t whatsat = 0;
};
absl::StatusOr<Mix> ParseMix(std::string_view text);

// By default WHATSAT asks every herd the same question, so replies cost the
// same.
inline constexpr int kWhatsatRadiusKm = 10;
inline constexpr int kWhatsatMaxResults = 5;

// What the load's WHATSATs ask and where its IAMATs put the clients.
struct WorkloadShape {
  int whatsat_radius_km = kWhatsatRadiusKm;      // 0 < r <= 50
  int whatsat_max_results = kWhatsatMaxResults;  // 0 < n <= 20
  // false: uniform over the globe (mostly ocean, so few places nearby);
  // true: within about 300 m of the centre of one of a few large cities, so
  // a places lookup finds something even within 1 km.
  bool near_cities = false;
};

// ISO 6709 as IAMAT carries it: "+34.068930-118.445127".
std::string FormatCoordinates(double latitude, double longitude);
// POSIX seconds with nine fraction digits: "1621464827.959498503".
std::string FormatClientTime(int64_t unix_nanos);

// Wall-clock nanoseconds that never repeat or go back, so each report of a
// client is strictly newer than the last and is always accepted.
class StrictlyIncreasingClock {
 public:
  int64_t Now();

 private:
  int64_t last_ = 0;
};

struct Request {
  enum class Kind { kIamat, kWhatsat };
  Kind kind = Kind::kIamat;
  std::string line;  // ends with '\n'
  size_t client_index = 0;
  std::string client_id;
  // IAMAT: the fields the reply must echo verbatim.
  std::string coordinates;
  std::string client_time;
  // WHATSAT: the AT line the herd must hold for this client, and the most
  // places the reply may list.
  std::string expected_at_line;
  int max_results = kWhatsatMaxResults;
};

// The requests of one connection. Each connection owns a disjoint slice of
// client IDs, so it alone changes them and knows each one's latest AT line:
// that is what lets every WHATSAT reply be checked byte for byte.
class ConnectionWorkload {
 public:
  // Client IDs are "<id_prefix>.<n>" for n in [0, clients).
  ConnectionWorkload(std::string id_prefix, uint64_t clients, Mix mix,
                     uint64_t seed, WorkloadShape shape = {});

  // IAMATs walk the slice round-robin (so N requests touch N distinct
  // clients); WHATSATs ask about a random client already confirmed.
  Request Next();
  // The herd answered this request correctly (an IAMAT with `at_line`).
  void Confirmed(const Request& request, std::string_view at_line);
  // No correct reply came; the client's state is unknown until re-reported.
  void Failed(const Request& request);

 private:
  Request NextIamat();
  std::string NextCoordinates();
  std::string ClientId(size_t index) const;

  std::string id_prefix_;
  uint64_t clients_;
  Mix mix_;
  WorkloadShape shape_;
  std::mt19937_64 random_;
  StrictlyIncreasingClock clock_;
  size_t next_iamat_client_ = 0;
  // Kept only when the mix has WHATSATs: with 1,000,000 IAMAT-only clients
  // the generator should not hold a copy of the herd.
  bool track_clients_;
  std::vector<std::string> known_at_lines_;
  std::vector<bool> in_flight_;
  std::vector<size_t> confirmed_clients_;
};

}  // namespace herd::bench

#endif  // HERD_BENCH_HERD_BENCH_WORKLOAD_H_
