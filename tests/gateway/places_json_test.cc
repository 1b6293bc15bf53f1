// The places JSON writer against nlohmann::json, which wrote the herd's
// WHATSAT replies before it: the same layout and escapes byte for byte, the
// same notation for numbers, and digits never more than the fewest that read
// back exactly.
#include "gateway/places_json.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace herd::gateway {
namespace {

using Places = google::protobuf::RepeatedPtrField<v1::Place>;
using namespace std::string_literals;  // "..."s: texts holding a NUL

// The document as a tree, dumped as the gateway used to dump it.
std::string DumpedByNlohmann(const Places& places) {
  nlohmann::json results = nlohmann::json::array();
  for (const v1::Place& place : places) {
    nlohmann::json types = nlohmann::json::array();
    for (const std::string& type : place.types()) types.push_back(type);
    results.push_back({
        {"geometry",
         {{"location",
           {{"lat", place.latitude()}, {"lng", place.longitude()}}}}},
        {"name", place.name()},
        {"place_id", place.place_id()},
        {"types", std::move(types)},
        {"vicinity", place.vicinity()},
    });
  }
  const bool empty = results.empty();
  const nlohmann::json document = {
      {"html_attributions", nlohmann::json::array()},
      {"results", std::move(results)},
      {"status", empty ? "ZERO_RESULTS" : "OK"},
  };
  return document.dump(3, ' ', /*ensure_ascii=*/false,
                       nlohmann::json::error_handler_t::replace);
}

std::string Written(const Places& places) {
  std::string json;
  AppendPlacesJson(places, json);
  return json;
}

v1::Place MakePlace(std::string name, double lat, double lng,
                    std::vector<std::string> types) {
  v1::Place place;
  place.set_place_id("ChIJ-" + name);
  place.set_name(std::move(name));
  place.set_latitude(lat);
  place.set_longitude(lng);
  place.set_vicinity("Los Angeles, CA");
  for (std::string& type : types) place.add_types(std::move(type));
  return place;
}

TEST(PlacesJsonTest, NoPlacesIsTheSameDocument) {
  const Places none;
  EXPECT_EQ(Written(none), DumpedByNlohmann(none));
  EXPECT_THAT(Written(none), testing::HasSubstr("\"ZERO_RESULTS\""));
}

TEST(PlacesJsonTest, PlacesAreTheSameDocument) {
  Places places;
  *places.Add() = MakePlace("Westwood", 34.07, -118.44, {"locality"});
  *places.Add() =
      MakePlace("UCLA", 34.068921, -118.4451811,
                {"university", "point_of_interest", "establishment"});
  *places.Add() = MakePlace("Nowhere", 0, -0.0, {});
  EXPECT_EQ(Written(places), DumpedByNlohmann(places));
  EXPECT_EQ(Written(places).find("\n\n"), std::string::npos);
}

TEST(PlacesJsonTest, TextsAreEscapedTheSameWay) {
  const std::vector<std::string> texts = {
      "",
      "plain",
      "quote \" and backslash \\ and slash /",
      "new\nline, tab\t, cr\r, bell\a, backspace\b, form feed\f",
      "nul \0 and unit separator \x1f and delete \x7f"s,
      "Caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",  // é € and an emoji
      "Caf\xC3",                                    // cut short
      "\xC0\xAF overlong, \xED\xA0\x80 surrogate, \xFF stray",
      "ok \xE2\x82 then more",
  };
  for (const std::string& text : texts) {
    std::string written;
    AppendJsonString(text, written);
    EXPECT_EQ(written,
              nlohmann::json(text).dump(
                  -1, ' ', false, nlohmann::json::error_handler_t::replace))
        << text;
    EXPECT_TRUE(nlohmann::json::accept(written)) << written;
  }
  Places places;
  *places.Add() = MakePlace("Bad\n\n\nName \"x\" \xC3", 1, 2, {"a\tb"});
  EXPECT_EQ(Written(places), DumpedByNlohmann(places));
}

std::string NumberWritten(double value) {
  std::string written;
  AppendJsonNumber(value, written);
  return written;
}

// How many significant digits the shortest text that reads back as value
// has, found the slow way: printf with ever more digits until strtod agrees.
int ShortestDigits(double value) {
  for (int precision = 1; precision <= 17; ++precision) {
    std::array<char, 64> text{};
    std::snprintf(text.data(), text.size(), "%.*e", precision - 1, value);
    if (std::strtod(text.data(), nullptr) == value) return precision;
  }
  return 17;
}

// Significant digits of a JSON number: its mantissa's digits without the
// leading and trailing zeros (those of "0.05" and "1200.0" are notation).
int DigitsIn(std::string_view number) {
  std::string digits;
  for (char c : number.substr(0, number.find('e'))) {
    if (c >= '0' && c <= '9') digits += c;
  }
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return 1;  // zero
  const size_t last = digits.find_last_not_of('0');
  return static_cast<int>(last - first + 1);
}

TEST(PlacesJsonTest, CoordinatesAreShortestAndReadBackExactly) {
  // Every latitude and longitude with up to 7 decimals on a coarse grid, and
  // the same with a fine stride near zero, where the notation changes.
  // (nlohmann's Grisu2 sometimes wrote more digits than needed, e.g.
  // -25.500610000000002 for -25.50061; both read back as the same double.)
  int checked = 0;
  for (int decimals = 0; decimals <= 7; ++decimals) {
    const double scale = std::pow(10.0, decimals);
    for (int step = -1800; step <= 1800; ++step) {
      const double value =
          std::round((step * 0.1 * scale) + (step % 97)) / scale;
      const std::string written = NumberWritten(value);
      ASSERT_EQ(std::strtod(written.c_str(), nullptr), value) << written;
      ASSERT_EQ(DigitsIn(written), ShortestDigits(value)) << written;
      ASSERT_LE(written.size(), nlohmann::json(value).dump().size()) << written;
      ++checked;
    }
    for (int step = -500; step <= 500; ++step) {
      const double value = step / scale / 1000;
      const std::string written = NumberWritten(value);
      ASSERT_EQ(std::strtod(written.c_str(), nullptr), value) << written;
      ASSERT_EQ(DigitsIn(written), ShortestDigits(value)) << written;
      ++checked;
    }
  }
  EXPECT_GT(checked, 30000);
}

// Values nlohmann writes in their shortest digits too, in every notation.
TEST(PlacesJsonTest, EveryNotationIsWrittenTheSameWay) {
  const std::vector<double> values = {0.0,
                                      -0.0,
                                      1.0,
                                      -1.0,
                                      0.5,
                                      0.1,
                                      1e-4,
                                      1.5e-4,
                                      9.99e-5,
                                      1e-5,
                                      1.25e-7,
                                      123456789012345.0,
                                      1e15,
                                      1.5e15,
                                      1e16,
                                      1e21,
                                      1e100,
                                      1.7976931348623157e308,
                                      5e-324,
                                      2.2250738585072014e-308,
                                      180.0,
                                      -180.0,
                                      90.0,
                                      33.3333333333333,
                                      0.30000000000000004};
  for (double value : values) {
    EXPECT_EQ(NumberWritten(value), nlohmann::json(value).dump()) << value;
  }
  EXPECT_EQ(NumberWritten(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(NumberWritten(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(NumberWritten(-std::numeric_limits<double>::infinity()), "null");
}

TEST(PlacesJsonTest, AnyDoubleReadsBackExactly) {
  std::mt19937_64 bits(20261207);  // fixed: the same doubles every run
  for (int i = 0; i < 100000; ++i) {
    const double value = std::bit_cast<double>(bits());
    if (!std::isfinite(value)) continue;
    const std::string written = NumberWritten(value);
    const nlohmann::json read = nlohmann::json::parse(written);
    ASSERT_TRUE(read.is_number_float()) << written;
    ASSERT_EQ(std::bit_cast<uint64_t>(read.get<double>()),
              std::bit_cast<uint64_t>(value))
        << written;
  }
}

TEST(PlacesJsonTest, TheSizeHintCoversAnOrdinaryReply) {
  Places places;
  for (int i = 0; i < 20; ++i) {
    *places.Add() = MakePlace("Place " + std::to_string(i), 34.0 + i * 0.001,
                              -118.4 - i * 0.001, {"locality", "political"});
  }
  EXPECT_GE(PlacesJsonSizeHint(places), Written(places).size());
}

}  // namespace
}  // namespace herd::gateway
