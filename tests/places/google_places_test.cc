// The Google Places provider against a fake Places server on 127.0.0.1.
#include "herdnode/places/google_places.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fake_places_server.h"
#include "herdnode/places/great_circle.h"
#include "nlohmann/json.hpp"

namespace herd::places {
namespace {

using Mode = FakePlacesServer::Mode;
using Result = absl::StatusOr<std::vector<v1::Place>>;

constexpr char kKey[] = "test-key-123";
// Bounds every wait for an answer; a hung provider fails the test instead of
// hanging it. Not a timing assertion: answers normally come in milliseconds.
constexpr auto kAnswerDeadline = std::chrono::seconds(20);
constexpr NearbyQuery kUcla{34.068930, -118.445127, 10, 20};

class GooglePlacesTest : public ::testing::Test {
 protected:
  std::unique_ptr<GooglePlaces> MakeProvider(
      std::string key = kKey,
      std::chrono::milliseconds timeout = std::chrono::seconds(10),
      std::string base_url = "") {
    GooglePlacesOptions options;
    options.api_key = std::move(key);
    options.base_url = base_url.empty() ? server_.base_url() : base_url;
    options.timeout = timeout;
    auto provider = GooglePlaces::Create(std::move(options));
    EXPECT_TRUE(provider.ok()) << provider.status();
    return provider.ok() ? *std::move(provider) : nullptr;
  }

  // Starts a lookup; the future holds its answer.
  static std::future<Result> Start(GooglePlaces& provider,
                                   const NearbyQuery& query) {
    auto promise = std::make_shared<std::promise<Result>>();
    std::future<Result> answer = promise->get_future();
    provider.FindNearby(
        query, [promise](Result r) { promise->set_value(std::move(r)); });
    return answer;
  }

  static Result Await(std::future<Result>& answer) {
    if (answer.wait_for(kAnswerDeadline) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within the deadline";
      return absl::DeadlineExceededError("test: no answer");
    }
    return answer.get();
  }

  static Result Find(GooglePlaces& provider, const NearbyQuery& query) {
    std::future<Result> answer = Start(provider, query);
    return Await(answer);
  }

  // The answer is an error with this code whose message has every part.
  static void ExpectError(const Result& result, absl::StatusCode code,
                          std::initializer_list<std::string_view> parts) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), code) << result.status();
    for (const std::string_view part : parts) {
      EXPECT_NE(std::string(result.status().message()).find(part),
                std::string::npos)
          << "\"" << part << "\" not in: " << result.status();
    }
  }

  FakePlacesServer server_{kKey};
};

TEST_F(GooglePlacesTest, SendsTheDocumentedRequest) {
  auto provider = MakeProvider();
  ASSERT_TRUE(Find(*provider, {34.068930, -118.445127, 12.5, 7}).ok());

  const auto seen = server_.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].problem, "");
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/v1/places:searchNearby");
  EXPECT_EQ(seen[0].content_type, "application/json");
  EXPECT_EQ(seen[0].api_key, kKey);
  EXPECT_EQ(seen[0].field_mask,
            "places.id,places.displayName,places.location,"
            "places.shortFormattedAddress,places.formattedAddress,"
            "places.types");
  const auto body = nlohmann::json::parse(seen[0].body);
  EXPECT_EQ(body["maxResultCount"], 7);
  EXPECT_DOUBLE_EQ(body["locationRestriction"]["circle"]["radius"], 12500.0);
  EXPECT_DOUBLE_EQ(body["locationRestriction"]["circle"]["center"]["latitude"],
                   34.068930);
  EXPECT_DOUBLE_EQ(body["locationRestriction"]["circle"]["center"]["longitude"],
                   -118.445127);
}

TEST_F(GooglePlacesTest, AnswersNearestFirstWithMappedFields) {
  auto provider = MakeProvider();
  Result places = Find(*provider, kUcla);
  ASSERT_TRUE(places.ok()) << places.status();
  ASSERT_EQ(places->size(), 4u);
  // The fake sends them at 0.4, 0.1, 0.3, 0.2 of the radius.
  const char* ids[] = {"fake-1", "fake-2", "fake-3", "fake-4"};
  double last_km = 0;
  for (size_t i = 0; i < places->size(); ++i) {
    const v1::Place& p = (*places)[i];
    EXPECT_EQ(p.place_id(), ids[i]);
    EXPECT_EQ(p.name(), "Place " + p.place_id().substr(5));
    EXPECT_EQ(p.vicinity(), p.place_id().substr(5) + " Long Road, Town");
    EXPECT_EQ(p.types_size(), 3);
    const double km = GreatCircleKm(kUcla.latitude, kUcla.longitude,
                                    p.latitude(), p.longitude());
    EXPECT_GE(km, last_km);
    EXPECT_LE(km, kUcla.radius_km);
    last_km = km;
  }
}

TEST_F(GooglePlacesTest, CapsAtTheBound) {
  auto provider = MakeProvider();
  Result places = Find(*provider, {10, 20, 5, 2});
  ASSERT_TRUE(places.ok()) << places.status();
  EXPECT_EQ(places->size(), 2u);
}

TEST_F(GooglePlacesTest, ServesIdenticalQueriesFromTheCache) {
  auto provider = MakeProvider();
  Result first = Find(*provider, kUcla);
  ASSERT_TRUE(first.ok()) << first.status();
  Result second = Find(*provider, kUcla);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(server_.requests().size(), 1u);
  ASSERT_EQ(first->size(), second->size());
  for (size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ((*first)[i].place_id(), (*second)[i].place_id());
  }
  // A different question goes to the server.
  ASSERT_TRUE(Find(*provider, {kUcla.latitude, kUcla.longitude, 10, 3}).ok());
  EXPECT_EQ(server_.requests().size(), 2u);
}

// Records what a provider reports of its cache.
class RecordingCacheObserver final : public PlacesCacheObserver {
 public:
  void OnPlacesCacheLookup(std::string_view provider, bool hit) override {
    std::lock_guard lock(mu_);
    lookups_.push_back(std::string(provider) + (hit ? " hit" : " miss"));
  }
  std::vector<std::string> lookups() {
    std::lock_guard lock(mu_);
    return lookups_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lookups_;
};

TEST_F(GooglePlacesTest, ReportsEveryCacheLookupAsHitOrMiss) {
  auto provider = MakeProvider();
  auto observer = std::make_shared<RecordingCacheObserver>();
  provider->ObserveCache(observer);
  ASSERT_TRUE(Find(*provider, kUcla).ok());
  ASSERT_TRUE(Find(*provider, kUcla).ok());
  ASSERT_TRUE(Find(*provider, {kUcla.latitude, kUcla.longitude, 10, 3}).ok());
  // A query refused before the cache is no lookup.
  EXPECT_FALSE(Find(*provider, {kUcla.latitude, kUcla.longitude, 0, 3}).ok());
  EXPECT_EQ(
      observer->lookups(),
      (std::vector<std::string>{"google miss", "google hit", "google miss"}));
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(GooglePlacesTest, TimeOutIsAClearError) {
  server_.set_mode(Mode::kSlow);
  auto provider = MakeProvider(kKey, std::chrono::milliseconds(300));
  ExpectError(Find(*provider, kUcla), absl::StatusCode::kDeadlineExceeded,
              {"timed out after 300 ms"});

  // The provider still works afterwards.
  server_.set_mode(Mode::kPlaces);
  EXPECT_TRUE(Find(*provider, kUcla).ok());
}

TEST_F(GooglePlacesTest, ForbiddenIsPermissionDenied) {
  server_.set_mode(Mode::kForbidden);
  auto provider = MakeProvider();
  ExpectError(
      Find(*provider, kUcla), absl::StatusCode::kPermissionDenied,
      {"HTTP 403", "PERMISSION_DENIED", "Requests to this API are blocked"});
}

TEST_F(GooglePlacesTest, TooManyRequestsIsQuota) {
  server_.set_mode(Mode::kQuota);
  auto provider = MakeProvider();
  ExpectError(Find(*provider, kUcla), absl::StatusCode::kResourceExhausted,
              {"HTTP 429", "RESOURCE_EXHAUSTED", "quota"});
  // Errors are not cached: the next identical query asks again.
  server_.set_mode(Mode::kPlaces);
  EXPECT_TRUE(Find(*provider, kUcla).ok());
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(GooglePlacesTest, GarbageJsonIsMalformed) {
  server_.set_mode(Mode::kGarbage);
  auto provider = MakeProvider();
  ExpectError(Find(*provider, kUcla), absl::StatusCode::kDataLoss,
              {"malformed"});
}

TEST_F(GooglePlacesTest, WrongKeyIsRefusedByTheServer) {
  auto provider = MakeProvider("wrong-key");
  ExpectError(Find(*provider, kUcla), absl::StatusCode::kInvalidArgument,
              {"HTTP 400", "API key not valid"});
}

TEST_F(GooglePlacesTest, ConnectionRefusedIsUnavailable) {
  // Bind a port, then close it, so nothing listens there.
  std::string url;
  {
    FakePlacesServer gone(kKey);
    url = gone.base_url();
  }
  auto provider = MakeProvider(kKey, std::chrono::seconds(10), url);
  ExpectError(Find(*provider, kUcla), absl::StatusCode::kUnavailable,
              {"connect 127.0.0.1"});
}

TEST_F(GooglePlacesTest, ReturnsAtOnceAndShutdownAnswersRequestsInFlight) {
  server_.set_mode(Mode::kSlow);
  auto provider = MakeProvider();  // 10 s time-out: it will not fire here
  std::future<Result> answer = Start(*provider, kUcla);
  // FindNearby returned while the server sits on the request: the caller's
  // thread is never held by the lookup.
  EXPECT_NE(answer.wait_for(std::chrono::seconds(0)),
            std::future_status::ready);
  // Wait (bounded) until the server holds the request, then shut down.
  for (int i = 0; i < 2000 && server_.requests().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(server_.requests().size(), 1u);
  provider.reset();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(0)),
            std::future_status::ready);
  EXPECT_EQ(answer.get().status().code(), absl::StatusCode::kCancelled);
}

TEST_F(GooglePlacesTest, ManyConcurrentLookupsAllAnswered) {
  auto provider = MakeProvider();
  std::vector<std::future<Result>> answers;
  for (int i = 0; i < 50; ++i) {
    answers.push_back(Start(*provider, {i * 0.5, i * 1.0, 5, 3}));
  }
  for (auto& answer : answers) {
    Result r = Await(answer);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->size(), 3u);
  }
  EXPECT_EQ(server_.requests().size(), 50u);
}

TEST(GooglePlacesCreateTest, NeedsAKeyAndAUsableUrl) {
  EXPECT_FALSE(GooglePlaces::Create({}).ok());
  GooglePlacesOptions options;
  options.api_key = "k";
  options.base_url = "gopher://x";
  auto provider = GooglePlaces::Create(options);
  ASSERT_FALSE(provider.ok());
  EXPECT_NE(provider.status().message().find("gopher://x"), std::string::npos);
}

}  // namespace
}  // namespace herd::places
