// WHATSAT's bounds (docs/PROTOCOL.md): a radius of more than 0 and at most
// 50 km, and 1 to 20 places. The gateway refuses lines outside them, the
// node refuses FindNearbyPlaces calls outside them, the bench asks within.
#ifndef HERD_COMMON_WHATSAT_LIMITS_H_
#define HERD_COMMON_WHATSAT_LIMITS_H_

#include <cstdint>

namespace herd {

inline constexpr int kWhatsatMaxRadiusKm = 50;
inline constexpr uint32_t kWhatsatMaxResults = 20;

}  // namespace herd

#endif  // HERD_COMMON_WHATSAT_LIMITS_H_
