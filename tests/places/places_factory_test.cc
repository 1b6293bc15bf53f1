// Choosing the provider from the herd file's PlacesConfig.
#include "herdnode/places/places_factory.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "herdnode/places/embedded_places.h"
#include "herdnode/places/google_places.h"

namespace herd {
namespace {

TEST(PlacesFactoryTest, UnsetMeansTheEmbeddedGazetteer) {
  auto provider = MakePlacesProvider(v1::PlacesConfig());
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_NE(dynamic_cast<places::EmbeddedPlaces*>(provider->get()), nullptr);
  EXPECT_EQ(std::string(DefaultGazetteerIndexPath()),
            HERD_TEST_GAZETTEER_INDEX);
}

TEST(PlacesFactoryTest, EmbeddedIndexPathOverridesTheDefault) {
  v1::PlacesConfig config;
  config.mutable_embedded()->set_index_path(HERD_TEST_GAZETTEER_INDEX);
  auto provider = MakePlacesProvider(config);
  ASSERT_TRUE(provider.ok()) << provider.status();

  config.mutable_embedded()->set_index_path("/no/such/dir/places.idx");
  provider = MakePlacesProvider(config);
  ASSERT_FALSE(provider.ok());
  EXPECT_NE(provider.status().message().find("/no/such/dir/places.idx"),
            std::string::npos)
      << provider.status();
}

TEST(PlacesFactoryTest, GoogleWithoutAKeyNamesTheVariable) {
  v1::PlacesConfig config;
  config.mutable_google()->set_api_key_env("HERD_TEST_NO_SUCH_KEY_VAR");
  unsetenv("HERD_TEST_NO_SUCH_KEY_VAR");
  auto provider = MakePlacesProvider(config);
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().message(),
            "Google Places configured but no API key in "
            "$HERD_TEST_NO_SUCH_KEY_VAR");

  config.mutable_google()->clear_api_key_env();
  const char* saved = getenv("GOOGLE_PLACES_API_KEY");
  const std::string saved_value = saved == nullptr ? "" : saved;
  unsetenv("GOOGLE_PLACES_API_KEY");
  provider = MakePlacesProvider(config);
  ASSERT_FALSE(provider.ok());
  EXPECT_NE(provider.status().message().find("$GOOGLE_PLACES_API_KEY"),
            std::string::npos);
  if (saved != nullptr) setenv("GOOGLE_PLACES_API_KEY", saved_value.c_str(), 1);
}

TEST(PlacesFactoryTest, GoogleKeyFromTheEnvironmentOrConfig) {
  v1::PlacesConfig config;
  config.mutable_google()->set_api_key_env("HERD_TEST_PLACES_KEY");
  config.mutable_google()->set_base_url("http://127.0.0.1:9");
  setenv("HERD_TEST_PLACES_KEY", "k-from-env", 1);
  auto provider = MakePlacesProvider(config);
  unsetenv("HERD_TEST_PLACES_KEY");
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_NE(dynamic_cast<places::GooglePlaces*>(provider->get()), nullptr);

  config.mutable_google()->set_api_key("k-inline");
  EXPECT_TRUE(MakePlacesProvider(config).ok());
}

TEST(PlacesFactoryTest, GoogleRejectsABadBaseUrl) {
  v1::PlacesConfig config;
  config.mutable_google()->set_api_key("k");
  config.mutable_google()->set_base_url("ftp://example.invalid");
  auto provider = MakePlacesProvider(config);
  ASSERT_FALSE(provider.ok());
  EXPECT_NE(provider.status().message().find("ftp://example.invalid"),
            std::string::npos)
      << provider.status();
}

}  // namespace
}  // namespace herd
