// The files of one node's data directory (<data_directory>/<name>/):
//   LOCK                      held (flock) while a herdnode uses the directory
//   snapshot                  every entry of the store at some point
//   snapshot.tmp              a snapshot being written (ignored at start)
//   log.0000000000000007      log segments, numbered upwards
#ifndef HERD_HERDNODE_DURABLE_DURABLE_FILES_H_
#define HERD_HERDNODE_DURABLE_DURABLE_FILES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "herdnode/durable/durable_env.h"
#include "herdnode/durable/posix_file.h"

namespace herd {

std::string SegmentPath(const std::string& directory, uint64_t segment);
std::string SnapshotPath(const std::string& directory);
std::string SnapshotTempPath(const std::string& directory);

// Creates directory (and its parents) if needed and takes its LOCK, so two
// herdnodes never write one directory. The lock ends with the descriptor
// (also when the process is killed).
absl::StatusOr<ScopedFd> LockDataDirectory(const std::string& directory);

// The numbers of the log segments in directory, ascending.
absl::StatusOr<std::vector<uint64_t>> ListSegments(
    DurableEnv& env, const std::string& directory);

// Creates segment (which must not exist) with its header, on disk (file and
// directory entry) when this returns; the file is open for appending.
absl::StatusOr<std::unique_ptr<WritableFile>> CreateSegment(
    DurableEnv& env, const std::string& directory, uint64_t segment);

// Removes every segment numbered below first_kept, then syncs the directory.
absl::Status RemoveSegmentsBefore(DurableEnv& env, const std::string& directory,
                                  uint64_t first_kept);

}  // namespace herd

#endif  // HERD_HERDNODE_DURABLE_DURABLE_FILES_H_
