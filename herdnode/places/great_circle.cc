#include "herdnode/places/great_circle.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace herd::places {

double GreatCircleKm(double lat1_deg, double lng1_deg, double lat2_deg,
                     double lng2_deg) {
  constexpr double kRadPerDeg = std::numbers::pi / 180.0;
  const double phi1 = lat1_deg * kRadPerDeg;
  const double phi2 = lat2_deg * kRadPerDeg;
  const double half_dphi = (phi2 - phi1) / 2;
  const double half_dlambda = (lng2_deg - lng1_deg) * kRadPerDeg / 2;
  const double h = std::sin(half_dphi) * std::sin(half_dphi) +
                   std::cos(phi1) * std::cos(phi2) * std::sin(half_dlambda) *
                       std::sin(half_dlambda);
  // Rounding can push h a hair above 1 for antipodal points.
  return 2 * kEarthMeanRadiusKm * std::asin(std::sqrt(std::clamp(h, 0.0, 1.0)));
}

}  // namespace herd::places
