// Places from the Google Places API (New), places:searchNearby, over HTTPS on
// the provider's own I/O thread, with a short-lived cache of answers.
#ifndef HERD_HERDNODE_PLACES_GOOGLE_PLACES_H_
#define HERD_HERDNODE_PLACES_GOOGLE_PLACES_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "herd/v1/herd.pb.h"
#include "herdnode/places/http_post_client.h"
#include "herdnode/places/places_provider.h"
#include "herdnode/places/ttl_cache.h"

namespace herd::places {

struct GooglePlacesOptions {
  std::string api_key;  // required
  std::string base_url = "https://places.googleapis.com";
  std::chrono::milliseconds timeout{5000};
  absl::Duration cache_ttl = absl::Seconds(60);
  size_t cache_entries = 4096;
};

class GooglePlaces final : public PlacesProvider {
 public:
  // Errors: no key, bad base URL.
  static absl::StatusOr<std::unique_ptr<GooglePlaces>> Create(
      GooglePlacesOptions options);

  GooglePlaces(GooglePlacesOptions options,
               std::unique_ptr<HttpPostClient> http);

  // Answers from the cache on the calling thread, or else sends the request
  // and returns at once; done then runs on the provider's I/O thread. Every
  // failure (time-out, HTTP error, quota, malformed JSON) is a status naming
  // it.
  void FindNearby(const NearbyQuery& query, Done done) override;
  void ObserveCache(
      const std::shared_ptr<PlacesCacheObserver>& observer) override {
    cache_observer_ = observer;
  }

 private:
  // The exact query: a cached answer is reused only for the same question.
  using CacheKey = std::tuple<double, double, double, uint32_t>;

  const GooglePlacesOptions options_;
  TtlCache<CacheKey, std::vector<v1::Place>> cache_;
  // Told of every cache lookup; null: nobody asked.
  std::shared_ptr<PlacesCacheObserver> cache_observer_;
  // Last, so it is destroyed first: its destructor finishes every callback,
  // and those use cache_.
  std::unique_ptr<HttpPostClient> http_;
};

}  // namespace herd::places

#endif  // HERD_HERDNODE_PLACES_GOOGLE_PLACES_H_
