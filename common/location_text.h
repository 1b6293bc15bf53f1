// The meaning of a client's location fields: ISO 6709 coordinates and POSIX
// time stamps, parsed exactly, and the AT line's signed time difference.
// Shared by the node (which validates reports) and the gateway (which
// formats replies).
#ifndef HERD_COMMON_LOCATION_TEXT_H_
#define HERD_COMMON_LOCATION_TEXT_H_

#include <compare>
#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "herd/v1/herd.pb.h"

namespace herd {

struct Coordinates {
  double latitude = 0;
  double longitude = 0;
};

// Parses "+34.068930-118.445127": each number has an explicit sign, digits
// and an optional fraction; latitude in [-90, 90], longitude in [-180, 180].
absl::StatusOr<Coordinates> ParseCoordinates(std::string_view text);

// Parses POSIX seconds with an optional fraction of 1 to 9 digits and an
// optional sign ("1621464827.959498503") into an exact instant. No exponents,
// no inf/nan: the time stamp must be finite and exact.
absl::StatusOr<v1::Instant> ParseClientTime(std::string_view text);

// Parses an AT line's time difference ("+0.263873386"): an explicit sign,
// seconds and an optional fraction of 1 to 9 digits. The result is a signed
// duration in Instant form ({-1, 500000000} is -0.5 s).
absl::StatusOr<v1::Instant> ParseTimeDifference(std::string_view text);

// later - earlier as the AT line shows it: explicit sign, seconds, '.', and
// exactly nine digits of nanoseconds ("+0.263873386", "-1.000000000").
std::string FormatTimeDifference(const v1::Instant& later,
                                 const v1::Instant& earlier);

// instant + duration, both in Instant form.
v1::Instant AddDuration(const v1::Instant& instant,
                        const v1::Instant& duration);

// Total order on instants: seconds first, then nanoseconds.
std::strong_ordering CompareInstants(const v1::Instant& a,
                                     const v1::Instant& b);

// The wall clock now, as an exact instant.
v1::Instant WallClockNow();

// text in single quotes for an error message: whole if it is at most
// kQuotedPrefixBytes long, else its first kQuotedPrefixBytes bytes, "..." and
// its length. An error that echoed a megabyte field back would not reach the
// caller (gRPC refuses such a status message as too-large metadata), so the
// real reason would be lost.
inline constexpr size_t kQuotedPrefixBytes = 64;
std::string QuoteForMessage(std::string_view text);

}  // namespace herd

#endif  // HERD_COMMON_LOCATION_TEXT_H_
