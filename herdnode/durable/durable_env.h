// The file operations the durable log and the snapshot write through, in
// LevelDB's Env/WritableFile manner: a small interface so that tests can put
// a fault-injecting env (a failed write or fdatasync, a short write, a full
// disk) between the log and the disk, and check that no update is
// acknowledged that is not durable. Reading at recovery and the directory
// LOCK go straight to POSIX (posix_file.h): faults that matter for the
// durability promise are on the write path.
#ifndef HERD_HERDNODE_DURABLE_DURABLE_ENV_H_
#define HERD_HERDNODE_DURABLE_DURABLE_ENV_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace herd {

// A file open for appending. Closed when destroyed (errors then ignored:
// call Close to see them). Not thread-safe; one writer at a time.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends all of bytes. On error, any prefix of bytes may be in the file
  // (a short write): recovery treats that as a torn tail.
  virtual absl::Status Append(std::string_view bytes) = 0;
  // fdatasync: what was appended (and the file's size) is on disk. After a
  // failed Sync nothing appended since the last good one may be trusted,
  // so callers must not retry it as if it could still succeed.
  virtual absl::Status Sync() = 0;
  virtual absl::Status Close() = 0;
  // For error messages.
  virtual const std::string& path() const = 0;
};

// Errors name the path and the errno text ("cannot fdatasync <path>:
// Input/output error"), with a status code that fits the errno. Thread-safe.
class DurableEnv {
 public:
  enum class OpenMode {
    kCreateNew,  // the file must not exist (O_EXCL)
    kTruncate,   // created if missing, emptied if not
    kAppend,     // the file must exist; appends go after its end
  };

  virtual ~DurableEnv() = default;

  virtual absl::StatusOr<std::unique_ptr<WritableFile>> OpenWritable(
      const std::string& path, OpenMode mode) = 0;
  // fsync of a directory: entries created, renamed or removed in it are on
  // disk.
  virtual absl::Status SyncDirectory(const std::string& directory) = 0;
  // rename(2): replaces to atomically.
  virtual absl::Status Rename(const std::string& from,
                              const std::string& to) = 0;
  virtual absl::Status Remove(const std::string& path) = 0;
  // The names (not paths) of the entries of directory, in no order.
  virtual absl::StatusOr<std::vector<std::string>> ListDirectory(
      const std::string& directory) = 0;
};

// The real disk. Never destroyed.
DurableEnv& PosixDurableEnv();

}  // namespace herd

#endif  // HERD_HERDNODE_DURABLE_DURABLE_ENV_H_
