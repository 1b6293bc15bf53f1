// Reading a whole file into memory, for the gazetteer's inputs and index.
#ifndef HERD_HERDNODE_PLACES_FILE_BYTES_H_
#define HERD_HERDNODE_PLACES_FILE_BYTES_H_

#include <string>

#include "absl/status/statusor.h"

namespace herd::places {

// The file's bytes; NOT_FOUND (naming the path) if it cannot be opened.
absl::StatusOr<std::string> ReadFileBytes(const std::string& path);

}  // namespace herd::places

#endif  // HERD_HERDNODE_PLACES_FILE_BYTES_H_
