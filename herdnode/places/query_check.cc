#include "herdnode/places/query_check.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace herd::places {

absl::Status CheckNearbyQuery(const NearbyQuery& query) {
  if (!std::isfinite(query.latitude) || std::fabs(query.latitude) > 90 ||
      !std::isfinite(query.longitude) || std::fabs(query.longitude) > 180) {
    return absl::InvalidArgumentError(
        absl::StrCat("places query: bad coordinates ", query.latitude, ",",
                     query.longitude));
  }
  if (!std::isfinite(query.radius_km) || query.radius_km <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "places query: radius must be > 0 km, got ", query.radius_km));
  }
  if (query.max_results == 0) {
    return absl::InvalidArgumentError("places query: max_results must be > 0");
  }
  return absl::OkStatus();
}

}  // namespace herd::places
