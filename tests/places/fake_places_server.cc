#include "fake_places_server.h"

#include <chrono>
#include <cmath>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/detached.hpp"
#include "boost/asio/redirect_error.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http.hpp"
#include "nlohmann/json.hpp"

namespace herd::places {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Json = nlohmann::json;
using boost::system::error_code;
constexpr auto kAwait = asio::use_awaitable;

// What Google's documentation says a searchNearby request must carry; the
// first thing missing, or "" if nothing is.
std::string Check(const http::request<http::string_body>& req,
                  const std::string& expected_key) {
  if (req.method() != http::verb::post) return "method is not POST";
  if (req.target() != "/v1/places:searchNearby") {
    return absl::StrCat("wrong path ", std::string(req.target()));
  }
  if (req[http::field::content_type] != "application/json") {
    return "Content-Type is not application/json";
  }
  if (req["X-Goog-Api-Key"] != expected_key) {
    return "API key not valid. Please pass a valid API key.";
  }
  const std::string mask(req["X-Goog-FieldMask"]);
  for (const char* field :
       {"places.id", "places.displayName", "places.location", "places.types"}) {
    if (mask.find(field) == std::string::npos) {
      return absl::StrCat("X-Goog-FieldMask lacks ", field);
    }
  }
  const Json body = Json::parse(req.body(), nullptr, false);
  if (!body.is_object()) return "body is not a JSON object";
  const Json* circle = nullptr;
  if (body.contains("locationRestriction") &&
      body["locationRestriction"].is_object() &&
      body["locationRestriction"].contains("circle")) {
    circle = &body["locationRestriction"]["circle"];
  }
  if (circle == nullptr || !circle->contains("center") ||
      !(*circle)["center"].contains("latitude") ||
      !(*circle)["center"]["latitude"].is_number() ||
      !(*circle)["center"].contains("longitude") ||
      !(*circle)["center"]["longitude"].is_number()) {
    return "locationRestriction.circle.center missing";
  }
  if (!circle->contains("radius") || !(*circle)["radius"].is_number() ||
      (*circle)["radius"].get<double>() <= 0 ||
      (*circle)["radius"].get<double>() > 50000) {
    return "locationRestriction.circle.radius must be in (0, 50000]";
  }
  if (!body.contains("maxResultCount") ||
      !body["maxResultCount"].is_number_integer() ||
      body["maxResultCount"].get<int>() < 1 ||
      body["maxResultCount"].get<int>() > 20) {
    return "maxResultCount must be an integer in [1, 20]";
  }
  return "";
}

std::string ErrorBody(int code, const std::string& status,
                      const std::string& message) {
  return Json{
      {"error", {{"code", code}, {"message", message}, {"status", status}}}}
      .dump();
}

// Places north of the centre at 0.4, 0.1, 0.3 and 0.2 of the radius, in
// that (popularity, not distance) order, at most maxResultCount of them.
std::string PlacesBody(const std::string& request_body) {
  const Json req = Json::parse(request_body);
  const Json& circle = req["locationRestriction"]["circle"];
  const double lat = circle["center"]["latitude"];
  const double lng = circle["center"]["longitude"];
  const double radius_deg = circle["radius"].get<double>() / 111195.0;
  const int max = req["maxResultCount"];
  Json places = Json::array();
  int n = 0;
  for (const double fraction : {0.4, 0.1, 0.3, 0.2}) {
    if (n++ == max) break;
    const std::string tag = absl::StrCat(std::lround(fraction * 10));
    places.push_back(
        {{"id", "fake-" + tag},
         {"displayName", {{"text", "Place " + tag}, {"languageCode", "en"}}},
         {"location",
          {{"latitude", lat + fraction * radius_deg}, {"longitude", lng}}},
         {"formattedAddress", tag + " Long Road, Town, Country"},
         {"shortFormattedAddress", tag + " Long Road, Town"},
         {"types", {"restaurant", "food", "point_of_interest"}}});
  }
  return Json{{"places", places}}.dump();
}

}  // namespace

FakePlacesServer::FakePlacesServer(std::string expected_key)
    : expected_key_(std::move(expected_key)),
      acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
  asio::co_spawn(io_, Accept(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

FakePlacesServer::~FakePlacesServer() {
  // Abandons slow answers still waiting; their coroutines die with io_.
  io_.stop();
  thread_.join();
}

std::string FakePlacesServer::base_url() const {
  return absl::StrCat("http://127.0.0.1:", acceptor_.local_endpoint().port());
}

void FakePlacesServer::set_mode(Mode mode) {
  std::lock_guard lock(mu_);
  mode_ = mode;
}

std::vector<FakePlacesServer::Seen> FakePlacesServer::requests() {
  std::lock_guard lock(mu_);
  return seen_;
}

asio::awaitable<void> FakePlacesServer::Accept() {
  for (;;) {
    error_code ec;
    asio::ip::tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(kAwait, ec));
    if (ec) co_return;
    asio::co_spawn(io_, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> FakePlacesServer::Serve(asio::ip::tcp::socket socket) {
  error_code ec;
  boost::beast::flat_buffer buffer;
  http::request<http::string_body> req;
  co_await http::async_read(socket, buffer, req,
                            asio::redirect_error(kAwait, ec));
  if (ec) co_return;

  Seen seen{std::string(http::to_string(req.method())),
            std::string(req.target()),
            std::string(req[http::field::content_type]),
            std::string(req["X-Goog-Api-Key"]),
            std::string(req["X-Goog-FieldMask"]),
            req.body(),
            Check(req, expected_key_)};
  Mode mode;
  {
    std::lock_guard lock(mu_);
    seen_.push_back(seen);
    mode = mode_;
  }

  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/json; charset=UTF-8");
  if (!seen.problem.empty()) {
    res.result(http::status::bad_request);
    res.body() = ErrorBody(400, "INVALID_ARGUMENT", seen.problem);
  } else if (mode == Mode::kSlow) {
    // Longer than any test's time-out; the destructor ends the wait.
    asio::steady_timer never(io_, std::chrono::minutes(10));
    co_await never.async_wait(asio::redirect_error(kAwait, ec));
    co_return;
  } else if (mode == Mode::kForbidden) {
    res.result(http::status::forbidden);
    res.body() = ErrorBody(403, "PERMISSION_DENIED",
                           "Requests to this API are blocked.");
  } else if (mode == Mode::kQuota) {
    res.result(http::status::too_many_requests);
    res.body() = ErrorBody(429, "RESOURCE_EXHAUSTED",
                           "Quota exceeded for quota metric 'SearchNearby'.");
  } else if (mode == Mode::kGarbage) {
    res.body() = "<html><body>{\"places\": [ oops";
  } else {
    res.body() = PlacesBody(req.body());
  }
  res.keep_alive(false);
  res.prepare_payload();
  co_await http::async_write(socket, res, asio::redirect_error(kAwait, ec));
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
}

}  // namespace herd::places
