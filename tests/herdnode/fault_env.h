// A DurableEnv for tests that passes everything to a real one (the POSIX
// env by default) until told to fail: the disk faults the durable log must
// survive without acknowledging anything that is not on disk.
#ifndef HERD_TESTS_HERDNODE_FAULT_ENV_H_
#define HERD_TESTS_HERDNODE_FAULT_ENV_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "herdnode/durable/durable_env.h"

namespace herd::testing {

enum class DiskFault {
  kNone,
  kWriteError,  // every append fails with EIO, writing nothing
  kSyncError,   // every fdatasync fails with EIO (appends still work)
  kShortWrite,  // every append writes half its bytes, then fails with EIO
  kDiskFull,    // every append writes half its bytes, then fails with ENOSPC
};

// For test names and messages.
std::string_view DiskFaultName(DiskFault fault);
// strerror of the errno the fault reports ("Input/output error", ...).
std::string DiskFaultErrorText(DiskFault fault);

// Thread-safe: Inject may be called at any moment while the log's threads
// write. The errors read exactly like the POSIX env's (herd::FileError).
class FaultEnv final : public DurableEnv {
 public:
  explicit FaultEnv(DurableEnv& target = PosixDurableEnv()) : target_(target) {}

  // From now on (for files opened before or after), until the next Inject,
  // on every file whose path contains only_paths_with ("": every file).
  void Inject(DiskFault fault, std::string only_paths_with = "") {
    MutexLock lock(&mu_);
    fault_ = fault;
    only_paths_with_ = std::move(only_paths_with);
  }
  // Operations the fault made fail: a test checks it really hit.
  uint64_t faults_hit() const {
    return faults_hit_.load(std::memory_order_relaxed);
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> OpenWritable(
      const std::string& path, OpenMode mode) override;
  absl::Status SyncDirectory(const std::string& directory) override {
    return target_.SyncDirectory(directory);
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    return target_.Rename(from, to);
  }
  absl::Status Remove(const std::string& path) override {
    return target_.Remove(path);
  }
  absl::StatusOr<std::vector<std::string>> ListDirectory(
      const std::string& directory) override {
    return target_.ListDirectory(directory);
  }

 private:
  class File;

  // The fault for an operation on path.
  DiskFault FaultFor(const std::string& path) const {
    MutexLock lock(&mu_);
    return path.find(only_paths_with_) != std::string::npos ? fault_
                                                            : DiskFault::kNone;
  }
  void CountHit() { faults_hit_.fetch_add(1, std::memory_order_relaxed); }

  DurableEnv& target_;
  mutable Mutex mu_;
  DiskFault fault_ ABSL_GUARDED_BY(mu_) = DiskFault::kNone;
  std::string only_paths_with_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> faults_hit_{0};
};

}  // namespace herd::testing

#endif  // HERD_TESTS_HERDNODE_FAULT_ENV_H_
