#include "herdnode/ops/timed_places.h"

#include <utility>

#include "absl/time/clock.h"

namespace herd {

void TimedPlacesProvider::FindNearby(const NearbyQuery& query, Done done) {
  inner_->FindNearby(
      query, [start = absl::Now(), metrics = metrics_, done = std::move(done)](
                 absl::StatusOr<std::vector<v1::Place>> places) mutable {
        metrics->OnPlacesCall(absl::Now() - start, places.ok());
        std::move(done)(std::move(places));
      });
}

}  // namespace herd
