// Where WHATSAT's places come from. The node owns one provider, chosen by
// config: the embedded offline gazetteer by default, Google Places when keyed.
#ifndef HERD_HERDNODE_PLACES_PLACES_PROVIDER_H_
#define HERD_HERDNODE_PLACES_PLACES_PROVIDER_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "herd/v1/herd.pb.h"

namespace herd {

struct NearbyQuery {
  double latitude = 0;
  double longitude = 0;
  double radius_km = 0;      // 0 < radius_km <= 50, checked by the caller
  uint32_t max_results = 0;  // 0 < max_results <= 20, checked by the caller
};

// Told of every lookup in a provider's answer cache, hit or miss; the node's
// metrics count them, so providers need not know Prometheus. Lookups come
// from any thread.
class PlacesCacheObserver {
 public:
  virtual ~PlacesCacheObserver() = default;
  // provider: a short label such as "google".
  virtual void OnPlacesCacheLookup(std::string_view provider, bool hit) = 0;
};

class PlacesProvider {
 public:
  using Done =
      absl::AnyInvocable<void(absl::StatusOr<std::vector<v1::Place>>) &&>;

  virtual ~PlacesProvider() = default;

  // Finds at most query.max_results places within query.radius_km
  // (great-circle) of the point, nearest first, and calls done exactly once,
  // possibly on another thread. Never blocks the caller on I/O. A provider
  // failure (time-out, HTTP error, bad data) is a status naming the problem.
  virtual void FindNearby(const NearbyQuery& query, Done done) = 0;

  // A provider with a cache reports each lookup in it to observer; others
  // have nothing to report. Call before the first FindNearby.
  virtual void ObserveCache(
      const std::shared_ptr<PlacesCacheObserver>& /*observer*/) {}
};

}  // namespace herd

#endif  // HERD_HERDNODE_PLACES_PLACES_PROVIDER_H_
