// The sanity check every provider applies to a query before using it.
#ifndef HERD_HERDNODE_PLACES_QUERY_CHECK_H_
#define HERD_HERDNODE_PLACES_QUERY_CHECK_H_

#include "absl/status/status.h"
#include "herdnode/places/places_provider.h"

namespace herd::places {

// Finite coordinates in range, radius > 0, max_results > 0. The 50 km / 20
// protocol limits are the caller's; providers accept any positive values.
absl::Status CheckNearbyQuery(const NearbyQuery& query);

}  // namespace herd::places

#endif  // HERD_HERDNODE_PLACES_QUERY_CHECK_H_
