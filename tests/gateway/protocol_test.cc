#include "gateway/protocol.h"

#include <string>
#include <string_view>
#include <variant>

#include "common/location_text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace herd::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

bool IsInvalid(std::string_view line) {
  return std::holds_alternative<InvalidCommand>(ParseCommand(line));
}

v1::Instant MakeInstant(int64_t seconds, int32_t nanos) {
  v1::Instant instant;
  instant.set_seconds(seconds);
  instant.set_nanos(nanos);
  return instant;
}

v1::Location HamiltonKiwi() {
  v1::Location location;
  location.set_origin_server("Hamilton");
  location.set_client_id("kiwi.cs.ucla.edu");
  location.set_coordinates_text("+34.068930-118.445127");
  location.set_client_time_text("1621464827.959498503");
  *location.mutable_client_time() = MakeInstant(1621464827, 959498503);
  *location.mutable_server_time() = MakeInstant(1621464828, 223371889);
  return location;
}

// ---- Framing ----

TEST(SplitFieldsTest, RunsOfSpacesAndTabsSeparate) {
  EXPECT_THAT(SplitFields("  a \t\t b\tc  \t"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(SplitFields(""), ElementsAre());
  EXPECT_THAT(SplitFields(" \t "), ElementsAre());
}

TEST(StripLineTerminatorTest, AcceptsLfAndCrLf) {
  EXPECT_EQ(StripLineTerminator("abc\n"), "abc");
  EXPECT_EQ(StripLineTerminator("abc\r\n"), "abc");
  EXPECT_EQ(StripLineTerminator("abc\r"), "abc");
  EXPECT_EQ(StripLineTerminator("abc"), "abc");
  EXPECT_EQ(StripLineTerminator("abc \n"), "abc ");
}

// ---- IAMAT ----

// The IAMAT fields that line parses to, as one string ("id|coords|time"),
// or "invalid".
std::string IamatFields(std::string_view line) {
  const Command command = ParseCommand(line);
  const auto* iamat = std::get_if<IamatCommand>(&command);
  if (iamat == nullptr) return "invalid";
  return iamat->client_id + "|" + iamat->coordinates_text + "|" +
         iamat->client_time_text;
}

TEST(ParseIamatTest, ValidLineKeepsFieldsExactly) {
  EXPECT_EQ(IamatFields("IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 "
                        "1621464827.959498503"),
            "kiwi.cs.ucla.edu|+34.068930-118.445127|1621464827.959498503");
}

TEST(ParseIamatTest, WhitespaceRunsTabsAndCrLfAreAccepted) {
  EXPECT_EQ(IamatFields(" \tIAMAT \t kiwi   +1.5-2.25\t\t\t12.5 \t\r\n"),
            "kiwi|+1.5-2.25|12.5");
  EXPECT_EQ(IamatFields("IAMAT\tk\t+1+1\t1\n"), "k|+1+1|1");
}

TEST(ParseCommandTest, ClientIdsMustBeValidUtf8) {
  // Client ids become protobuf strings, which must be UTF-8.
  EXPECT_EQ(IamatFields("IAMAT k\xc3\xa9vin +1+1 1"), "k\xc3\xa9vin|+1+1|1");
  EXPECT_EQ(IamatFields("IAMAT \xf0\x9f\xa6\x98 +1+1 1"),
            "\xf0\x9f\xa6\x98|+1+1|1");
  EXPECT_TRUE(IsInvalid("IAMAT k\xff +1+1 1"));
  EXPECT_TRUE(IsInvalid("IAMAT k\xc3 +1+1 1"));          // truncated
  EXPECT_TRUE(IsInvalid("IAMAT k\xc0\xaf +1+1 1"));      // overlong '/'
  EXPECT_TRUE(IsInvalid("IAMAT k\xed\xa0\x80 +1+1 1"));  // surrogate
  EXPECT_TRUE(IsInvalid("WHATSAT k\xfe 10 5"));
  EXPECT_TRUE(IsInvalid("AT S\x80 +0.1 k +1+1 1"));
}

TEST(ParseIamatTest, WrongFieldCountIsInvalid) {
  EXPECT_TRUE(IsInvalid("IAMAT kiwi +34.068930-118.445127"));
  EXPECT_TRUE(IsInvalid("IAMAT kiwi +34.068930-118.445127 1 extra"));
  EXPECT_TRUE(IsInvalid("IAMAT"));
}

TEST(ParseIamatTest, CommandNameIsCaseSensitive) {
  EXPECT_TRUE(IsInvalid("iamat kiwi +34.068930-118.445127 1621464827.5"));
}

TEST(ParseIamatTest, CoordinatesNeedExplicitSignsAndRange) {
  EXPECT_FALSE(IsInvalid("IAMAT k -90-180 1"));
  EXPECT_FALSE(IsInvalid("IAMAT k +90.000+180.0 1"));
  EXPECT_TRUE(IsInvalid("IAMAT k 34.068930-118.445127 1"));  // no lat sign
  EXPECT_TRUE(IsInvalid("IAMAT k +34.068930118.445127 1"));  // no lng sign
  EXPECT_TRUE(IsInvalid("IAMAT k +90.0001+0 1"));
  EXPECT_TRUE(IsInvalid("IAMAT k +0-180.0001 1"));
  EXPECT_TRUE(IsInvalid("IAMAT k +34.-118 1"));
  EXPECT_TRUE(IsInvalid("IAMAT k +34,5-118 1"));
  EXPECT_TRUE(IsInvalid("IAMAT k +nan+inf 1"));
}

TEST(ParseIamatTest, BadTimeStampsAreInvalid) {
  EXPECT_FALSE(IsInvalid("IAMAT k +1+1 1621464827"));
  EXPECT_TRUE(IsInvalid("IAMAT k +1+1 1e9"));
  EXPECT_TRUE(IsInvalid("IAMAT k +1+1 inf"));
  EXPECT_TRUE(IsInvalid("IAMAT k +1+1 nan"));
  EXPECT_TRUE(IsInvalid("IAMAT k +1+1 12.3456789012"));  // finer than ns
  EXPECT_TRUE(IsInvalid("IAMAT k +1+1 12."));
  EXPECT_TRUE(IsInvalid("IAMAT k +1+1 abc"));
}

TEST(ParseCommandTest, EmptyUnknownAndVeryLongLinesAreInvalid) {
  EXPECT_TRUE(IsInvalid(""));
  EXPECT_TRUE(IsInvalid(" \t \r\n"));
  EXPECT_TRUE(IsInvalid("HELLO there"));
  EXPECT_TRUE(IsInvalid("IAMAT k +1+1 " + std::string(100000, '9')));
  const std::string long_id(100000, 'x');
  EXPECT_FALSE(IsInvalid("IAMAT " + long_id + " +1+1 1"));
}

// ---- WHATSAT ----

TEST(ParseWhatsatTest, ValidLine) {
  const Command command = ParseCommand("WHATSAT kiwi.cs.ucla.edu 10 5");
  const auto* whatsat = std::get_if<WhatsatCommand>(&command);
  ASSERT_NE(whatsat, nullptr);
  EXPECT_EQ(whatsat->client_id, "kiwi.cs.ucla.edu");
  EXPECT_DOUBLE_EQ(whatsat->radius_km, 10);
  EXPECT_EQ(whatsat->max_results, 5U);
}

TEST(ParseWhatsatTest, RadiusBounds) {
  double radius = 0;
  EXPECT_FALSE(ParseRadiusKm("0", radius));
  EXPECT_FALSE(ParseRadiusKm("0.000", radius));
  EXPECT_TRUE(ParseRadiusKm("50", radius));
  EXPECT_DOUBLE_EQ(radius, 50);
  EXPECT_TRUE(ParseRadiusKm("50.000", radius));
  EXPECT_FALSE(ParseRadiusKm("50.0001", radius));
  EXPECT_FALSE(ParseRadiusKm("50.0000000000000000001", radius));
  EXPECT_FALSE(ParseRadiusKm("51", radius));
  EXPECT_FALSE(ParseRadiusKm("100", radius));
  EXPECT_FALSE(ParseRadiusKm("0050.5", radius));
  EXPECT_TRUE(ParseRadiusKm("0.001", radius));
  EXPECT_DOUBLE_EQ(radius, 0.001);
  EXPECT_TRUE(ParseRadiusKm(".5", radius));
  EXPECT_DOUBLE_EQ(radius, 0.5);
  EXPECT_TRUE(ParseRadiusKm("7.", radius));
  EXPECT_DOUBLE_EQ(radius, 7);
}

TEST(ParseWhatsatTest, RadiusRejectsNonNumbers) {
  double radius = 0;
  for (std::string_view text :
       {"", ".", "10abc", "abc", "-5", "+5", "1e1", "inf", "nan", "Infinity",
        "0x10", "1.2.3", " 5", "5 "}) {
    EXPECT_FALSE(ParseRadiusKm(text, radius)) << "'" << text << "'";
  }
}

TEST(ParseWhatsatTest, BoundLimits) {
  uint32_t bound = 0;
  EXPECT_FALSE(ParseMaxResults("0", bound));
  EXPECT_TRUE(ParseMaxResults("1", bound));
  EXPECT_EQ(bound, 1U);
  EXPECT_TRUE(ParseMaxResults("20", bound));
  EXPECT_EQ(bound, 20U);
  EXPECT_FALSE(ParseMaxResults("21", bound));
  for (std::string_view text :
       {"", "10abc", "-1", "+5", "5.0", "1e1", "99999999999999999999", "inf"}) {
    EXPECT_FALSE(ParseMaxResults(text, bound)) << "'" << text << "'";
  }
}

TEST(ParseWhatsatTest, WholeLineRules) {
  EXPECT_FALSE(IsInvalid("WHATSAT k 50 20"));
  EXPECT_TRUE(IsInvalid("WHATSAT k 0 5"));
  EXPECT_TRUE(IsInvalid("WHATSAT k 50.0001 5"));
  EXPECT_TRUE(IsInvalid("WHATSAT k 51 5"));
  EXPECT_TRUE(IsInvalid("WHATSAT k 10 0"));
  EXPECT_TRUE(IsInvalid("WHATSAT k 10 21"));
  EXPECT_TRUE(IsInvalid("WHATSAT k 10abc 5"));
  EXPECT_TRUE(IsInvalid("WHATSAT k 10"));
  EXPECT_TRUE(IsInvalid("WHATSAT k 10 5 6"));
}

// ---- AT ----

TEST(ParseAtTest, BuildsTheLocationItDescribes) {
  const Command command = ParseCommand(
      "AT Hamilton +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 "
      "1621464827.959498503");
  const auto* at = std::get_if<AtCommand>(&command);
  ASSERT_NE(at, nullptr);
  const v1::Location& location = at->location;
  EXPECT_EQ(location.origin_server(), "Hamilton");
  EXPECT_EQ(location.client_id(), "kiwi.cs.ucla.edu");
  EXPECT_EQ(location.coordinates_text(), "+34.068930-118.445127");
  EXPECT_EQ(location.client_time_text(), "1621464827.959498503");
  EXPECT_DOUBLE_EQ(location.latitude(), 34.068930);
  EXPECT_DOUBLE_EQ(location.longitude(), -118.445127);
  EXPECT_EQ(location.client_time().seconds(), 1621464827);
  EXPECT_EQ(location.client_time().nanos(), 959498503);
  // 1621464827.959498503 + 0.263873386 = 1621464828.223371889
  EXPECT_EQ(location.server_time().seconds(), 1621464828);
  EXPECT_EQ(location.server_time().nanos(), 223371889);
  // And it formats back to the same line.
  EXPECT_EQ(FormatAtLine(location),
            "AT Hamilton +0.263873386 kiwi.cs.ucla.edu "
            "+34.068930-118.445127 1621464827.959498503");
}

TEST(ParseAtTest, NegativeDifference) {
  const Command command = ParseCommand("AT S -1.5 c +1+1 10");
  const auto* at = std::get_if<AtCommand>(&command);
  ASSERT_NE(at, nullptr);
  EXPECT_EQ(at->location.server_time().seconds(), 8);
  EXPECT_EQ(at->location.server_time().nanos(), 500000000);
  EXPECT_EQ(FormatAtLine(at->location), "AT S -1.500000000 c +1+1 10");
}

TEST(ParseAtTest, FieldRules) {
  EXPECT_FALSE(IsInvalid("AT S +0 c +1+1 10"));
  EXPECT_TRUE(IsInvalid("AT S 0.5 c +1+1 10"));  // difference needs a sign
  EXPECT_TRUE(IsInvalid("AT S +0.5e1 c +1+1 10"));
  EXPECT_TRUE(IsInvalid("AT S +inf c +1+1 10"));
  EXPECT_TRUE(IsInvalid("AT S +0.5 c 1+1 10"));  // coordinates
  EXPECT_TRUE(IsInvalid("AT S +0.5 c +91+1 10"));
  EXPECT_TRUE(IsInvalid("AT S +0.5 c +1+1 1e3"));   // time
  EXPECT_TRUE(IsInvalid("AT S +0.5 c +1+1"));       // missing field
  EXPECT_TRUE(IsInvalid("AT S +0.5 c +1+1 10 x"));  // extra field
}

// ---- Formatting ----

TEST(FormatTest, AtReplyIsByteExact) {
  EXPECT_EQ(FormatAtReply(HamiltonKiwi()),
            "AT Hamilton +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 "
            "1621464827.959498503\n");
}

TEST(FormatTest, ErrorReplyCopiesTheLineWithoutTerminator) {
  EXPECT_EQ(FormatErrorReply("foo  bar\t\r\n"), "? foo  bar\t\n");
  EXPECT_EQ(FormatErrorReply("foo\n"), "? foo\n");
  EXPECT_EQ(FormatErrorReply(""), "? \n");
}

v1::Place MakePlace(std::string name) {
  v1::Place place;
  place.set_place_id("id-" + name);
  place.set_name(std::move(name));
  place.set_latitude(34.07);
  place.set_longitude(-118.44);
  place.set_vicinity("Los Angeles");
  place.add_types("locality");
  place.add_types("political");
  return place;
}

TEST(FormatTest, WhatsatReplyShapeAndEnding) {
  google::protobuf::RepeatedPtrField<v1::Place> places;
  *places.Add() = MakePlace("Westwood");
  const std::string reply = FormatWhatsatReply(HamiltonKiwi(), places);
  const std::string at_line = FormatAtLine(HamiltonKiwi()) + "\n";
  ASSERT_EQ(reply.substr(0, at_line.size()), at_line);
  ASSERT_GE(reply.size(), at_line.size() + 2);
  EXPECT_EQ(reply.substr(reply.size() - 2), "\n\n");
  const std::string json_text =
      reply.substr(at_line.size(), reply.size() - at_line.size() - 2);
  EXPECT_EQ(json_text.find("\n\n"), std::string::npos);
  EXPECT_THAT(json_text, HasSubstr("\n   \"html_attributions\""));  // indent 3
  const nlohmann::json json = nlohmann::json::parse(json_text);
  EXPECT_EQ(json["status"], "OK");
  EXPECT_EQ(json["html_attributions"], nlohmann::json::array());
  ASSERT_EQ(json["results"].size(), 1U);
  const nlohmann::json& result = json["results"][0];
  EXPECT_EQ(result["name"], "Westwood");
  EXPECT_EQ(result["place_id"], "id-Westwood");
  EXPECT_EQ(result["vicinity"], "Los Angeles");
  EXPECT_DOUBLE_EQ(result["geometry"]["location"]["lat"].get<double>(), 34.07);
  EXPECT_DOUBLE_EQ(result["geometry"]["location"]["lng"].get<double>(),
                   -118.44);
  EXPECT_EQ(result["types"], nlohmann::json({"locality", "political"}));
}

TEST(FormatTest, NoPlacesIsZeroResults) {
  const std::string json_text = FormatPlacesJson({});
  const nlohmann::json json = nlohmann::json::parse(json_text);
  EXPECT_EQ(json["status"], "ZERO_RESULTS");
  EXPECT_TRUE(json["results"].empty());
}

TEST(FormatTest, NewlinesInsideAPlaceNameCannotEndTheReply) {
  google::protobuf::RepeatedPtrField<v1::Place> places;
  *places.Add() = MakePlace("Bad\n\n\nName");
  *places.Add() = MakePlace("Second");
  const std::string reply = FormatWhatsatReply(HamiltonKiwi(), places);
  // The only blank line is the one that ends the reply.
  EXPECT_EQ(reply.find("\n\n"), reply.size() - 2);
  const size_t json_start = reply.find('\n') + 1;
  const nlohmann::json json = nlohmann::json::parse(
      reply.substr(json_start, reply.size() - 2 - json_start));
  EXPECT_EQ(json["results"][0]["name"], "Bad\n\n\nName");  // escaped, intact
  EXPECT_EQ(json["results"].size(), 2U);
}

TEST(FormatTest, InvalidUtf8InAPlaceNameDoesNotThrow) {
  google::protobuf::RepeatedPtrField<v1::Place> places;
  *places.Add() = MakePlace(std::string("Caf\xC3", 4));
  std::string json_text;
  EXPECT_NO_THROW(json_text = FormatPlacesJson(places));
  EXPECT_TRUE(nlohmann::json::accept(json_text));
}

}  // namespace
}  // namespace herd::gateway
