// Great-circle distance on a spherical Earth, shared by the providers so that
// "within r km" means the same thing whichever provider answers.
#ifndef HERD_HERDNODE_PLACES_GREAT_CIRCLE_H_
#define HERD_HERDNODE_PLACES_GREAT_CIRCLE_H_

namespace herd::places {

// IUGG mean Earth radius R1 = (2a + b) / 3 of WGS 84. A sphere is what the
// Places radius semantics assume; the ellipsoid differs by < 0.5 %.
inline constexpr double kEarthMeanRadiusKm = 6371.0088;

// Haversine distance in km between two points given in degrees. Well
// conditioned for short distances, at the poles and across the antimeridian
// (longitudes need no normalisation).
double GreatCircleKm(double lat1_deg, double lng1_deg, double lat2_deg,
                     double lng2_deg);

}  // namespace herd::places

#endif  // HERD_HERDNODE_PLACES_GREAT_CIRCLE_H_
