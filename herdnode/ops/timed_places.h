// A PlacesProvider decorator that reports every call's latency and outcome
// to the node's metrics, whatever provider is configured underneath.
#ifndef HERD_HERDNODE_OPS_TIMED_PLACES_H_
#define HERD_HERDNODE_OPS_TIMED_PLACES_H_

#include <memory>
#include <utility>

#include "herdnode/ops/metrics.h"
#include "herdnode/places/places_provider.h"

namespace herd {

class TimedPlacesProvider final : public PlacesProvider {
 public:
  TimedPlacesProvider(std::unique_ptr<PlacesProvider> inner,
                      std::shared_ptr<NodeMetrics> metrics)
      : inner_(std::move(inner)), metrics_(std::move(metrics)) {}

  void FindNearby(const NearbyQuery& query, Done done) override;
  void ObserveCache(
      const std::shared_ptr<PlacesCacheObserver>& observer) override {
    inner_->ObserveCache(observer);
  }

 private:
  const std::unique_ptr<PlacesProvider> inner_;
  const std::shared_ptr<NodeMetrics> metrics_;
};

}  // namespace herd

#endif  // HERD_HERDNODE_OPS_TIMED_PLACES_H_
