#include "herdnode/places/places_factory.h"

#include <chrono>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "herdnode/places/embedded_places.h"
#include "herdnode/places/google_places.h"

namespace herd {
namespace {

constexpr char kDefaultKeyVariable[] = "GOOGLE_PLACES_API_KEY";

absl::StatusOr<std::unique_ptr<PlacesProvider>> MakeEmbedded(
    const v1::EmbeddedPlaces& config) {
  const std::string path = config.index_path().empty()
                               ? DefaultGazetteerIndexPath()
                               : config.index_path();
  absl::StatusOr<std::unique_ptr<places::EmbeddedPlaces>> provider =
      places::EmbeddedPlaces::Load(path);
  if (!provider.ok()) return provider.status();
  return std::unique_ptr<PlacesProvider>(*std::move(provider));
}

absl::StatusOr<std::unique_ptr<PlacesProvider>> MakeGoogle(
    const v1::GooglePlaces& config) {
  places::GooglePlacesOptions options;
  options.api_key = config.api_key();
  if (options.api_key.empty()) {
    const std::string variable = config.api_key_env().empty()
                                     ? kDefaultKeyVariable
                                     : config.api_key_env();
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr || *value == '\0') {
      return absl::FailedPreconditionError(absl::StrCat(
          "Google Places configured but no API key in $", variable));
    }
    options.api_key = value;
  }
  if (!config.base_url().empty()) options.base_url = config.base_url();
  if (config.timeout_ms() != 0) {
    options.timeout = std::chrono::milliseconds(config.timeout_ms());
  }
  if (config.cache_ttl_seconds() != 0) {
    options.cache_ttl = absl::Seconds(config.cache_ttl_seconds());
  }
  absl::StatusOr<std::unique_ptr<places::GooglePlaces>> provider =
      places::GooglePlaces::Create(std::move(options));
  if (!provider.ok()) return provider.status();
  return std::unique_ptr<PlacesProvider>(*std::move(provider));
}

}  // namespace

const char* DefaultGazetteerIndexPath() { return HERD_DEFAULT_GAZETTEER_INDEX; }

absl::StatusOr<std::unique_ptr<PlacesProvider>> MakePlacesProvider(
    const v1::PlacesConfig& config) {
  switch (config.provider_case()) {
    case v1::PlacesConfig::kGoogle:
      return MakeGoogle(config.google());
    case v1::PlacesConfig::kEmbedded:
      return MakeEmbedded(config.embedded());
    case v1::PlacesConfig::PROVIDER_NOT_SET:
      break;
  }
  return MakeEmbedded(v1::EmbeddedPlaces());
}

}  // namespace herd
