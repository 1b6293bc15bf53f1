// Chooses and builds the node's places provider from the herd file.
#ifndef HERD_HERDNODE_PLACES_PLACES_FACTORY_H_
#define HERD_HERDNODE_PLACES_PLACES_FACTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "herd/v1/config.pb.h"
#include "herdnode/places/places_provider.h"

namespace herd {

// embedded (or unset): the gazetteer at index_path, else the one the build
// made. google: the key from api_key, else from the environment variable
// named by api_key_env (default GOOGLE_PLACES_API_KEY); zero-valued fields
// take their documented defaults. Errors name what is missing or wrong.
absl::StatusOr<std::unique_ptr<PlacesProvider>> MakePlacesProvider(
    const v1::PlacesConfig& config);

// The index the build made (compiled in).
const char* DefaultGazetteerIndexPath();

}  // namespace herd

#endif  // HERD_HERDNODE_PLACES_PLACES_FACTORY_H_
