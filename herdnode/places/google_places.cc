#include "herdnode/places/google_places.h"

#include <optional>
#include <string_view>
#include <utility>

#include "herdnode/places/google_places_wire.h"
#include "herdnode/places/query_check.h"

namespace herd::places {

absl::StatusOr<std::unique_ptr<GooglePlaces>> GooglePlaces::Create(
    GooglePlacesOptions options) {
  if (options.api_key.empty()) {
    return absl::InvalidArgumentError("Google Places: no API key");
  }
  absl::StatusOr<std::unique_ptr<HttpPostClient>> http =
      HttpPostClient::Create(options.base_url);
  if (!http.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Google Places: ", http.status().message()));
  }
  return std::make_unique<GooglePlaces>(std::move(options), *std::move(http));
}

GooglePlaces::GooglePlaces(GooglePlacesOptions options,
                           std::unique_ptr<HttpPostClient> http)
    : options_(std::move(options)),
      cache_(options_.cache_ttl, options_.cache_entries),
      http_(std::move(http)) {}

void GooglePlaces::FindNearby(const NearbyQuery& query, Done done) {
  if (absl::Status s = CheckNearbyQuery(query); !s.ok()) {
    std::move(done)(std::move(s));
    return;
  }
  const CacheKey key{query.latitude, query.longitude, query.radius_km,
                     query.max_results};
  std::optional<std::vector<v1::Place>> hit = cache_.Get(key);
  if (cache_observer_ != nullptr) {
    cache_observer_->OnPlacesCacheLookup("google", hit.has_value());
  }
  if (hit.has_value()) {
    std::move(done)(*std::move(hit));
    return;
  }
  HttpPostClient::Headers headers = {
      {"Content-Type", "application/json"},
      {"X-Goog-Api-Key", options_.api_key},
      {"X-Goog-FieldMask", std::string(kSearchNearbyFieldMask)},
  };
  http_->Post(
      kSearchNearbyPath, std::move(headers), SearchNearbyRequestBody(query),
      options_.timeout,
      [this, query, key,
       done = std::move(done)](absl::StatusOr<HttpResponse> response) mutable {
        if (!response.ok()) {
          std::move(done)(absl::Status(
              response.status().code(),
              absl::StrCat("Google Places: ", response.status().message())));
          return;
        }
        if (response->status != 200) {
          std::move(done)(
              SearchNearbyHttpError(response->status, response->body));
          return;
        }
        absl::StatusOr<std::vector<v1::Place>> places =
            ParseSearchNearbyResponse(response->body, query);
        if (places.ok()) cache_.Put(key, *places);
        std::move(done)(std::move(places));
      });
}

}  // namespace herd::places
