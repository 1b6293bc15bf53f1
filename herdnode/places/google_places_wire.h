// The Places API (New) places:searchNearby wire format: the request body we
// send and the response (or error) we get back, as pure functions so they can
// be tested without a network.
#ifndef HERD_HERDNODE_PLACES_GOOGLE_PLACES_WIRE_H_
#define HERD_HERDNODE_PLACES_GOOGLE_PLACES_WIRE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "herd/v1/herd.pb.h"
#include "herdnode/places/places_provider.h"

namespace herd::places {

inline constexpr std::string_view kSearchNearbyPath = "/v1/places:searchNearby";

// Only what v1::Place needs: the API bills by the fields asked for.
inline constexpr std::string_view kSearchNearbyFieldMask =
    "places.id,places.displayName,places.location,"
    "places.shortFormattedAddress,places.formattedAddress,places.types";

// {"maxResultCount": n, "locationRestriction": {"circle": {"center":
// {"latitude", "longitude"}, "radius": metres}}}
std::string SearchNearbyRequestBody(const NearbyQuery& query);

// Maps a 200 response onto places: id -> place_id, displayName.text -> name,
// location -> latitude/longitude, shortFormattedAddress (else
// formattedAddress) -> vicinity, types -> types. Keeps the places within
// query.radius_km, nearest first, at most query.max_results. "{}" (no places)
// is a valid empty answer; anything not of the documented shape is an error.
absl::StatusOr<std::vector<v1::Place>> ParseSearchNearbyResponse(
    std::string_view body, const NearbyQuery& query);

// The status for a non-200 answer, naming the HTTP status and Google's
// error.status / error.message when the body carries them (403
// PERMISSION_DENIED, 429 RESOURCE_EXHAUSTED = quota, ...).
absl::Status SearchNearbyHttpError(unsigned http_status, std::string_view body);

}  // namespace herd::places

#endif  // HERD_HERDNODE_PLACES_GOOGLE_PLACES_WIRE_H_
