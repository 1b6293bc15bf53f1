// Reading a node's data directory back at start, and repairing what a crash
// can leave behind. Recovery never drops an update that may have been
// acknowledged without saying so: a damaged record followed by valid ones is
// an error naming the file and offset, not something to skip.
#ifndef HERD_HERDNODE_DURABLE_DURABLE_RECOVERY_H_
#define HERD_HERDNODE_DURABLE_DURABLE_RECOVERY_H_

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "herd/v1/herd.pb.h"
#include "herdnode/durable/durable_env.h"
#include "spdlog/logger.h"

namespace herd {

struct RecoveredLog {
  uint64_t snapshot_records = 0;
  uint64_t log_records = 0;
  uint64_t torn_bytes_dropped = 0;
  // Appends continue at the end of this segment (it exists, with a valid
  // header, ending with a valid record), which already holds this many.
  uint64_t append_segment = 0;
  uint64_t append_segment_records = 0;
};

// Hands apply every record of the snapshot (if any), then of every log
// segment after it, in order. Repairs:
// - snapshot.tmp (a snapshot interrupted before its rename) is removed;
// - segments the snapshot already contains (a crash before their removal)
//   are removed;
// - a segment whose header was cut short is started again;
// - a torn tail (a bad record with nothing valid after it) is cut off, and
//   the log says how many bytes at which offset;
// - an empty directory gets its first segment.
// Errors: a bad snapshot, a damaged record followed by valid records, a
// missing segment, a foreign file; each names the file. Files are read
// straight from POSIX; the repairs write through env (but for cutting off a
// torn tail, which frees space and is a plain ftruncate).
absl::StatusOr<RecoveredLog> RecoverDataDirectory(
    DurableEnv& env, const std::string& directory, spdlog::logger& log,
    absl::FunctionRef<void(v1::Location&&)> apply);

}  // namespace herd

#endif  // HERD_HERDNODE_DURABLE_DURABLE_RECOVERY_H_
