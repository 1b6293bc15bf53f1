// Every rule of the location fields: ISO 6709 coordinates, POSIX time
// stamps, and the AT line's time differences.
#include "common/location_text.h"

#include <compare>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace herd {
namespace {

v1::Instant MakeInstant(int64_t seconds, int32_t nanos) {
  v1::Instant instant;
  instant.set_seconds(seconds);
  instant.set_nanos(nanos);
  return instant;
}

void ExpectInstant(const absl::StatusOr<v1::Instant>& got, int64_t seconds,
                   int32_t nanos) {
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->seconds(), seconds);
  EXPECT_EQ(got->nanos(), nanos);
}

TEST(ParseCoordinatesTest, ReadsSignedDegrees) {
  absl::StatusOr<Coordinates> c = ParseCoordinates("+34.068930-118.445127");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->latitude, 34.068930);
  EXPECT_DOUBLE_EQ(c->longitude, -118.445127);

  c = ParseCoordinates("-33.8688+151.2093");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->latitude, -33.8688);
  EXPECT_DOUBLE_EQ(c->longitude, 151.2093);
}

TEST(ParseCoordinatesTest, FractionIsOptional) {
  absl::StatusOr<Coordinates> c = ParseCoordinates("+34-118");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->latitude, 34);
  EXPECT_EQ(c->longitude, -118);
}

TEST(ParseCoordinatesTest, BoundariesAreAccepted) {
  for (const char* text : {"+90-180", "-90+180", "+90.000000+180.000000",
                           "-90.0-180.0", "+0+0", "-0.0-0.0"}) {
    EXPECT_TRUE(ParseCoordinates(text).ok()) << text;
  }
}

TEST(ParseCoordinatesTest, OutOfRangeIsRejected) {
  for (const char* text :
       {"+90.0000001+0", "-90.0000001+0", "+0-180.0000001", "+0+180.0000001",
        "+91+0", "+0+181", "+99999999999999999999999999+0"}) {
    absl::StatusOr<Coordinates> c = ParseCoordinates(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("outside"), absl::string_view::npos)
        << c.status();
  }
}

TEST(ParseCoordinatesTest, MalformedIsRejected) {
  for (const char* text : {
           "",                      // nothing
           "34.068930-118.445127",  // latitude without sign
           "+34.068930118.445127",  // longitude without sign
           "+34.068930",            // one number
           "+34.-118.445127",       // empty fraction
           "+34.068930-118.",       // empty fraction at the end
           "+.5-118",               // no whole digits
           "+3.4e1-118",            // exponent
           "+inf-118",              // infinity
           "+nan-118",              // not a number
           "+34-118 ",              // trailing space
           " +34-118",              // leading space
           "+34-118x",              // trailing garbage
           "++34-118",              // double sign
           "+34,5-118",             // comma
       }) {
    absl::StatusOr<Coordinates> c = ParseCoordinates(text);
    ASSERT_FALSE(c.ok()) << "accepted '" << text << "'";
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ParseClientTimeTest, ReadsExactNanoseconds) {
  ExpectInstant(ParseClientTime("1621464827.959498503"), 1621464827, 959498503);
  ExpectInstant(ParseClientTime("1621464827"), 1621464827, 0);
  ExpectInstant(ParseClientTime("1621464827.5"), 1621464827, 500000000);
  ExpectInstant(ParseClientTime("0.000000001"), 0, 1);
  ExpectInstant(ParseClientTime("+7.25"), 7, 250000000);
}

TEST(ParseClientTimeTest, NanosecondNeighboursDiffer) {
  absl::StatusOr<v1::Instant> a = ParseClientTime("1621464827.959498503");
  absl::StatusOr<v1::Instant> b = ParseClientTime("1621464827.959498504");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(std::is_lt(CompareInstants(*a, *b)));
  EXPECT_TRUE(std::is_gt(CompareInstants(*b, *a)));
  EXPECT_TRUE(std::is_eq(CompareInstants(*a, *a)));
}

TEST(ParseClientTimeTest, NegativeTimesUseInstantForm) {
  ExpectInstant(ParseClientTime("-1.5"), -2, 500000000);
  ExpectInstant(ParseClientTime("-1"), -1, 0);
  ExpectInstant(ParseClientTime("-0.000000001"), -1, 999999999);
  ExpectInstant(ParseClientTime("-0"), 0, 0);
}

TEST(ParseClientTimeTest, EighteenDigitsOfSecondsFit) {
  ExpectInstant(ParseClientTime("999999999999999999.999999999"),
                999999999999999999, 999999999);
}

TEST(ParseClientTimeTest, MalformedIsRejected) {
  for (const char* text : {
           "",
           "1.",                     // empty fraction
           ".5",                     // no whole digits
           "1621464827.9594985031",  // ten fraction digits
           "1000000000000000000",    // nineteen digits of seconds
           "1e9",                    // exponent
           "1.5E3",                  // exponent
           "inf", "nan", "-inf",     // not finite
           "0x10",                   // hex
           " 1", "1 ",               // spaces
           "1,5",                    // comma
           "--1",                    // double sign
       }) {
    absl::StatusOr<v1::Instant> t = ParseClientTime(text);
    ASSERT_FALSE(t.ok()) << "accepted '" << text << "'";
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(FormatTimeDifferenceTest, PositiveWithNineDigits) {
  EXPECT_EQ(FormatTimeDifference(MakeInstant(1621464828, 223371889),
                                 MakeInstant(1621464827, 959498503)),
            "+0.263873386");
  EXPECT_EQ(FormatTimeDifference(MakeInstant(12, 0), MakeInstant(2, 0)),
            "+10.000000000");
}

TEST(FormatTimeDifferenceTest, BorrowsFromSeconds) {
  EXPECT_EQ(FormatTimeDifference(MakeInstant(10, 500), MakeInstant(9, 600)),
            "+0.999999900");
  EXPECT_EQ(FormatTimeDifference(MakeInstant(10, 0), MakeInstant(8, 1)),
            "+1.999999999");
}

TEST(FormatTimeDifferenceTest, Zero) {
  EXPECT_EQ(FormatTimeDifference(MakeInstant(5, 7), MakeInstant(5, 7)),
            "+0.000000000");
}

TEST(FormatTimeDifferenceTest, NegativeWhenServerClockIsBehind) {
  EXPECT_EQ(FormatTimeDifference(MakeInstant(1, 0), MakeInstant(2, 500000000)),
            "-1.500000000");
  EXPECT_EQ(FormatTimeDifference(MakeInstant(9, 600), MakeInstant(10, 500)),
            "-0.999999900");
  EXPECT_EQ(FormatTimeDifference(MakeInstant(0, 0), MakeInstant(0, 1)),
            "-0.000000001");
  EXPECT_EQ(FormatTimeDifference(MakeInstant(-3, 0), MakeInstant(0, 0)),
            "-3.000000000");
}

TEST(ParseTimeDifferenceTest, RequiresSign) {
  ExpectInstant(ParseTimeDifference("+0.263873386"), 0, 263873386);
  ExpectInstant(ParseTimeDifference("-1.5"), -2, 500000000);
  for (const char* text :
       {"0.263873386", "", "+", "+1.", "+1e3", "+inf", "+0.1234567890"}) {
    EXPECT_FALSE(ParseTimeDifference(text).ok()) << text;
  }
}

TEST(ParseTimeDifferenceTest, RoundTripsFormat) {
  const std::vector<std::pair<v1::Instant, v1::Instant>> pairs = {
      {MakeInstant(1621464828, 223371889), MakeInstant(1621464827, 959498503)},
      {MakeInstant(1621464827, 959498503), MakeInstant(1621464828, 223371889)},
      {MakeInstant(10, 500), MakeInstant(9, 600)},
      {MakeInstant(9, 600), MakeInstant(10, 500)},
      {MakeInstant(5, 7), MakeInstant(5, 7)},
      {MakeInstant(0, 0), MakeInstant(0, 1)},
      {MakeInstant(-5, 999999999), MakeInstant(3, 1)},
  };
  for (const auto& [later, earlier] : pairs) {
    const std::string text = FormatTimeDifference(later, earlier);
    absl::StatusOr<v1::Instant> difference = ParseTimeDifference(text);
    ASSERT_TRUE(difference.ok()) << text << ": " << difference.status();
    // earlier + (later - earlier) == later, exactly.
    EXPECT_TRUE(
        std::is_eq(CompareInstants(AddDuration(earlier, *difference), later)))
        << text;
  }
}

}  // namespace
}  // namespace herd
