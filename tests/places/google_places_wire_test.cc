// The places:searchNearby request body, response mapping and error mapping.
#include "herdnode/places/google_places_wire.h"

#include <gtest/gtest.h>

#include <string>

#include "nlohmann/json.hpp"

namespace herd::places {
namespace {

using Json = nlohmann::json;

TEST(SearchNearbyRequestBodyTest, HasCircleInMetresAndTheBound) {
  const Json body =
      Json::parse(SearchNearbyRequestBody({34.068930, -118.445127, 10, 5}));
  EXPECT_EQ(body["maxResultCount"], 5);
  const Json& circle = body["locationRestriction"]["circle"];
  EXPECT_DOUBLE_EQ(circle["center"]["latitude"].get<double>(), 34.068930);
  EXPECT_DOUBLE_EQ(circle["center"]["longitude"].get<double>(), -118.445127);
  EXPECT_DOUBLE_EQ(circle["radius"].get<double>(), 10000.0);
  EXPECT_EQ(body.size(), 2u);  // nothing else: no type filter
}

TEST(ParseSearchNearbyResponseTest, MapsFieldsSortsNearestFirstAndCaps) {
  // Google ranks by popularity; the far one comes first on the wire.
  const std::string body = R"({"places":[
    {"id":"far","displayName":{"text":"Far","languageCode":"en"},
     "location":{"latitude":34.10,"longitude":-118.445},
     "formattedAddress":"1 Far St, Los Angeles, CA 90024, USA",
     "types":["cafe","food"]},
    {"id":"near","displayName":{"text":"Near"},
     "location":{"latitude":34.069,"longitude":-118.445},
     "shortFormattedAddress":"2 Near St, Los Angeles",
     "formattedAddress":"2 Near St, Los Angeles, CA 90024, USA",
     "types":["library"]},
    {"id":"mid","displayName":{"text":"Mid"},
     "location":{"latitude":34.08,"longitude":-118.445}},
    {"id":"outside","displayName":{"text":"Outside"},
     "location":{"latitude":35.0,"longitude":-118.445}}]})";
  auto places = ParseSearchNearbyResponse(body, {34.068930, -118.445, 10, 3});
  ASSERT_TRUE(places.ok()) << places.status();
  ASSERT_EQ(places->size(), 3u);
  EXPECT_EQ((*places)[0].place_id(), "near");
  EXPECT_EQ((*places)[0].name(), "Near");
  EXPECT_EQ((*places)[0].vicinity(), "2 Near St, Los Angeles");
  EXPECT_EQ((*places)[0].types(0), "library");
  EXPECT_DOUBLE_EQ((*places)[0].latitude(), 34.069);
  EXPECT_EQ((*places)[1].place_id(), "mid");
  EXPECT_EQ((*places)[1].vicinity(), "");
  EXPECT_EQ((*places)[2].place_id(), "far");
  EXPECT_EQ((*places)[2].vicinity(), "1 Far St, Los Angeles, CA 90024, USA");
  EXPECT_EQ((*places)[2].types_size(), 2);

  auto capped = ParseSearchNearbyResponse(body, {34.068930, -118.445, 10, 1});
  ASSERT_TRUE(capped.ok());
  ASSERT_EQ(capped->size(), 1u);
  EXPECT_EQ((*capped)[0].place_id(), "near");
}

TEST(ParseSearchNearbyResponseTest, NoPlacesIsAnEmptyAnswer) {
  auto places = ParseSearchNearbyResponse("{}", {0, 0, 10, 5});
  ASSERT_TRUE(places.ok()) << places.status();
  EXPECT_TRUE(places->empty());
}

TEST(ParseSearchNearbyResponseTest, MalformedIsAnError) {
  for (
      const char* body :
      {"", "<html>oops</html>", "[]", R"({"places":{}})", R"({"places":[1]})",
       R"({"places":[{"location":{"latitude":1,"longitude":2}}]})",
       R"({"places":[{"id":"x","location":{"latitude":"1","longitude":2}}]})",
       R"({"places":[{"id":"x","location":{"latitude":1,"longitude":2},"types":"a"}]})",
       R"({"places":[{"id":"x")"}) {
    auto places = ParseSearchNearbyResponse(body, {0, 0, 10, 5});
    ASSERT_FALSE(places.ok()) << body;
    EXPECT_EQ(places.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(places.status().message().find("malformed"), std::string::npos)
        << places.status();
  }
}

TEST(SearchNearbyHttpErrorTest, NamesStatusAndGooglesMessage) {
  const absl::Status denied = SearchNearbyHttpError(
      403,
      R"({"error":{"code":403,"message":"Places API (New) has not been used","status":"PERMISSION_DENIED"}})");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.message(),
            "Google Places HTTP 403: PERMISSION_DENIED: Places API (New) has "
            "not been used");

  const absl::Status quota = SearchNearbyHttpError(
      429,
      R"({"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}})");
  EXPECT_EQ(quota.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(quota.message().find("RESOURCE_EXHAUSTED"), std::string::npos);
  EXPECT_NE(quota.message().find("quota"), std::string::npos);

  const absl::Status gateway = SearchNearbyHttpError(502, "Bad Gateway");
  EXPECT_EQ(gateway.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(gateway.message(), "Google Places HTTP 502: Bad Gateway");

  const absl::Status huge =
      SearchNearbyHttpError(500, std::string(100000, 'x'));
  EXPECT_LT(huge.message().size(), 400u);
}

}  // namespace
}  // namespace herd::places
