#include "common/location_text.h"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace herd {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;
// 18 digits of seconds always fit in int64 and leave room for the arithmetic
// of time differences.
constexpr size_t kMaxSecondsDigits = 18;
constexpr size_t kMaxFractionDigits = 9;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Length of the run of digits at the start of text.
size_t DigitRun(std::string_view text) {
  size_t n = 0;
  while (n < text.size() && IsDigit(text[n])) ++n;
  return n;
}

// A decimal number split into its parts: sign, whole digits, fraction digits.
struct Decimal {
  bool negative = false;
  std::string_view whole;
  std::string_view fraction;
  size_t length = 0;  // characters consumed, sign included
};

// Reads "[sign]digits[.digits]" from the front of text. The sign is required
// when sign_required is set. Returns false if text does not start with one.
bool ReadDecimal(std::string_view text, bool sign_required, Decimal& out) {
  size_t pos = 0;
  out = Decimal{};
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    out.negative = text[pos] == '-';
    ++pos;
  } else if (sign_required) {
    return false;
  }
  const size_t whole_digits = DigitRun(text.substr(pos));
  if (whole_digits == 0) return false;
  out.whole = text.substr(pos, whole_digits);
  pos += whole_digits;
  if (pos < text.size() && text[pos] == '.') {
    const size_t fraction_digits = DigitRun(text.substr(pos + 1));
    if (fraction_digits == 0) return false;
    out.fraction = text.substr(pos + 1, fraction_digits);
    pos += 1 + fraction_digits;
  }
  out.length = pos;
  return true;
}

// The magnitude of a decimal as a double (its text has been validated).
double DecimalMagnitude(const Decimal& d) {
  std::string unsigned_text(d.whole);
  if (!d.fraction.empty()) unsigned_text.append(".").append(d.fraction);
  double value = 0;
  const auto [end, error] = std::from_chars(
      unsigned_text.data(), unsigned_text.data() + unsigned_text.size(), value);
  // Too many digits to represent: certainly out of any coordinate's range.
  if (error != std::errc{}) return std::numeric_limits<double>::infinity();
  return value;
}

// Converts a validated decimal with at most 9 fraction digits to an exact
// Instant-form value.
absl::StatusOr<v1::Instant> DecimalToInstant(const Decimal& d,
                                             std::string_view what) {
  if (d.whole.size() > kMaxSecondsDigits) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), " has more than ", kMaxSecondsDigits,
                     " digits of seconds"));
  }
  if (d.fraction.size() > kMaxFractionDigits) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(what),
        " has more than nine fraction digits (finer than nanoseconds)"));
  }
  int64_t seconds = 0;
  std::from_chars(d.whole.data(), d.whole.data() + d.whole.size(), seconds);
  int64_t nanos = 0;
  for (size_t i = 0; i < kMaxFractionDigits; ++i) {
    nanos = nanos * 10 + (i < d.fraction.size() ? d.fraction[i] - '0' : 0);
  }
  if (d.negative && (seconds != 0 || nanos != 0)) {
    seconds = -seconds;
    if (nanos != 0) {
      seconds -= 1;
      nanos = kNanosPerSecond - nanos;
    }
  }
  v1::Instant instant;
  instant.set_seconds(seconds);
  instant.set_nanos(static_cast<int32_t>(nanos));
  return instant;
}

}  // namespace

absl::StatusOr<Coordinates> ParseCoordinates(std::string_view text) {
  Decimal latitude;
  Decimal longitude;
  if (!ReadDecimal(text, /*sign_required=*/true, latitude) ||
      !ReadDecimal(text.substr(latitude.length), /*sign_required=*/true,
                   longitude) ||
      latitude.length + longitude.length != text.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "coordinates ", QuoteForMessage(text),
        " are not two signed decimal degrees like +34.068930-118.445127"));
  }
  Coordinates result;
  result.latitude = DecimalMagnitude(latitude);
  result.longitude = DecimalMagnitude(longitude);
  if (result.latitude > 90) {
    return absl::InvalidArgumentError(absl::StrCat(
        "latitude in ", QuoteForMessage(text), " is outside [-90, 90]"));
  }
  if (result.longitude > 180) {
    return absl::InvalidArgumentError(absl::StrCat(
        "longitude in ", QuoteForMessage(text), " is outside [-180, 180]"));
  }
  if (latitude.negative) result.latitude = -result.latitude;
  if (longitude.negative) result.longitude = -result.longitude;
  return result;
}

absl::StatusOr<v1::Instant> ParseClientTime(std::string_view text) {
  Decimal decimal;
  if (!ReadDecimal(text, /*sign_required=*/false, decimal) ||
      decimal.length != text.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("time stamp ", QuoteForMessage(text),
                     " is not POSIX seconds like 1621464827.959498503"));
  }
  return DecimalToInstant(decimal, "time stamp");
}

absl::StatusOr<v1::Instant> ParseTimeDifference(std::string_view text) {
  Decimal decimal;
  if (!ReadDecimal(text, /*sign_required=*/true, decimal) ||
      decimal.length != text.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("time difference ", QuoteForMessage(text),
                     " is not signed seconds like +0.263873386"));
  }
  return DecimalToInstant(decimal, "time difference");
}

std::string FormatTimeDifference(const v1::Instant& later,
                                 const v1::Instant& earlier) {
  // Seconds are bounded (18 digits when parsed), so none of this overflows.
  int64_t seconds = later.seconds() - earlier.seconds();
  int64_t nanos = int64_t{later.nanos()} - earlier.nanos();
  if (nanos < 0) {
    seconds -= 1;
    nanos += kNanosPerSecond;
  }
  const bool negative = seconds < 0;
  if (negative) {  // magnitude of seconds + nanos/1e9
    seconds = -seconds;
    if (nanos != 0) {
      seconds -= 1;
      nanos = kNanosPerSecond - nanos;
    }
  }
  std::string nanos_text = absl::StrCat(nanos);
  nanos_text.insert(0, kMaxFractionDigits - nanos_text.size(), '0');
  return absl::StrCat(negative ? "-" : "+", seconds, ".", nanos_text);
}

v1::Instant AddDuration(const v1::Instant& instant,
                        const v1::Instant& duration) {
  int64_t seconds = instant.seconds() + duration.seconds();
  int64_t nanos = int64_t{instant.nanos()} + duration.nanos();
  if (nanos >= kNanosPerSecond) {
    seconds += 1;
    nanos -= kNanosPerSecond;
  }
  v1::Instant result;
  result.set_seconds(seconds);
  result.set_nanos(static_cast<int32_t>(nanos));
  return result;
}

std::strong_ordering CompareInstants(const v1::Instant& a,
                                     const v1::Instant& b) {
  if (auto order = a.seconds() <=> b.seconds(); std::is_neq(order)) {
    return order;
  }
  return a.nanos() <=> b.nanos();
}

v1::Instant WallClockNow() {
  const auto since_epoch =
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  v1::Instant now;
  now.set_seconds(since_epoch / kNanosPerSecond);
  now.set_nanos(static_cast<int32_t>(since_epoch % kNanosPerSecond));
  return now;
}

std::string QuoteForMessage(std::string_view text) {
  if (text.size() <= kQuotedPrefixBytes) {
    return absl::StrCat("'", std::string(text), "'");
  }
  return absl::StrCat("'", std::string(text.substr(0, kQuotedPrefixBytes)),
                      "...' (", text.size(), " bytes)");
}

}  // namespace herd
