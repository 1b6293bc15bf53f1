#include "herdnode/places/google_places_wire.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "herdnode/places/great_circle.h"
#include "nlohmann/json.hpp"

namespace herd::places {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxErrorTextBytes = 300;

absl::Status Malformed(std::string_view why) {
  return absl::DataLossError(absl::StrCat(
      "Google Places returned a malformed response: ", std::string(why)));
}

// A JSON string member or "" (optional fields).
std::string OptionalString(const Json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

absl::StatusOr<v1::Place> ToPlace(const Json& p) {
  if (!p.is_object()) return Malformed("a place is not an object");
  v1::Place place;
  const auto id = p.find("id");
  if (id == p.end() || !id->is_string() || id->get<std::string>().empty()) {
    return Malformed("a place has no \"id\"");
  }
  place.set_place_id(id->get<std::string>());

  const auto loc = p.find("location");
  if (loc == p.end() || !loc->is_object() || !loc->contains("latitude") ||
      !loc->contains("longitude") || !(*loc)["latitude"].is_number() ||
      !(*loc)["longitude"].is_number()) {
    return Malformed(
        absl::StrCat("place ", place.place_id(), " has no numeric location"));
  }
  place.set_latitude((*loc)["latitude"].get<double>());
  place.set_longitude((*loc)["longitude"].get<double>());

  if (const auto name = p.find("displayName");
      name != p.end() && name->is_object()) {
    place.set_name(OptionalString(*name, "text"));
  }
  std::string vicinity = OptionalString(p, "shortFormattedAddress");
  if (vicinity.empty()) vicinity = OptionalString(p, "formattedAddress");
  place.set_vicinity(std::move(vicinity));

  if (const auto types = p.find("types"); types != p.end()) {
    if (!types->is_array()) return Malformed("\"types\" is not an array");
    for (const Json& t : *types) {
      if (t.is_string()) place.add_types(t.get<std::string>());
    }
  }
  return place;
}

}  // namespace

std::string SearchNearbyRequestBody(const NearbyQuery& query) {
  const Json body = {
      {"maxResultCount", query.max_results},
      {"locationRestriction",
       {{"circle",
         {{"center",
           {{"latitude", query.latitude}, {"longitude", query.longitude}}},
          {"radius", query.radius_km * 1000.0}}}}}};
  return body.dump();
}

absl::StatusOr<std::vector<v1::Place>> ParseSearchNearbyResponse(
    std::string_view body, const NearbyQuery& query) {
  const Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Malformed("not JSON");
  if (!doc.is_object()) return Malformed("not a JSON object");

  struct Ranked {
    double km;
    v1::Place place;
  };
  std::vector<Ranked> ranked;
  if (const auto places = doc.find("places"); places != doc.end()) {
    if (!places->is_array()) return Malformed("\"places\" is not an array");
    for (const Json& p : *places) {
      absl::StatusOr<v1::Place> place = ToPlace(p);
      if (!place.ok()) return place.status();
      const double km = GreatCircleKm(query.latitude, query.longitude,
                                      place->latitude(), place->longitude());
      if (km <= query.radius_km) ranked.push_back({km, *std::move(place)});
    }
  }
  // The API ranks by popularity by default; WHATSAT wants nearest first.
  std::stable_sort(
      ranked.begin(), ranked.end(),
      [](const Ranked& a, const Ranked& b) { return a.km < b.km; });
  if (ranked.size() > query.max_results) ranked.resize(query.max_results);

  std::vector<v1::Place> result;
  result.reserve(ranked.size());
  for (Ranked& r : ranked) result.push_back(std::move(r.place));
  return result;
}

absl::Status SearchNearbyHttpError(unsigned http_status,
                                   std::string_view body) {
  std::string detail;
  const Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
    const Json& error = doc["error"];
    const std::string status = OptionalString(error, "status");
    const std::string message = OptionalString(error, "message");
    detail = status.empty() ? message : absl::StrCat(status, ": ", message);
  }
  if (detail.empty()) {
    detail = std::string(body.substr(0, kMaxErrorTextBytes));
  }
  if (detail.size() > kMaxErrorTextBytes) detail.resize(kMaxErrorTextBytes);

  const std::string text =
      absl::StrCat("Google Places HTTP ", http_status, ": ", detail);
  switch (http_status) {
    case 400:
      return absl::InvalidArgumentError(text);
    case 401:
      return absl::UnauthenticatedError(text);
    case 403:
      return absl::PermissionDeniedError(text);
    case 429:
      return absl::ResourceExhaustedError(
          absl::StrCat(text, " (quota exceeded)"));
    default:
      return http_status >= 500 ? absl::UnavailableError(text)
                                : absl::UnknownError(text);
  }
}

}  // namespace herd::places
