// A node's durable log: every accepted update is appended to a log segment
// by one writer thread that batches the appends of all callers (group
// commit: one write and at most one fdatasync per batch), and a snapshot
// thread periodically writes the whole store so older segments can go.
// Recovery at start is in durable_recovery.h; the format in record_format.h.
#ifndef HERD_HERDNODE_DURABLE_DURABLE_LOG_H_
#define HERD_HERDNODE_DURABLE_DURABLE_LOG_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/mutex.h"
#include "common/wake_flag.h"
#include "herd/v1/config.pb.h"
#include "herdnode/durable/durable_env.h"
#include "herdnode/durable/durable_recovery.h"
#include "herdnode/durable/posix_file.h"
#include "herdnode/store/flooding.h"
#include "herdnode/store/location_store.h"
#include "spdlog/logger.h"

namespace herd {

enum class FsyncPolicy {
  kAlways,    // done runs after the batch's fdatasync
  kInterval,  // done runs after the write; fdatasync every fsync_interval
  kNever,     // done runs after the write; the kernel flushes when it likes
};

struct DurableLogOptions {
  std::string directory;  // this node's own: <data_directory>/<name>
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  absl::Duration fsync_interval = absl::Milliseconds(100);
  // A new segment and a snapshot after this many appends to one segment.
  uint64_t snapshot_every_entries = 100000;
  // What segments and snapshots are written through: the real disk, or a
  // test's fault-injecting env. Must outlive the log.
  DurableEnv* env = &PosixDurableEnv();
};

// server_name's log options from the herd file's durability section, whose
// data_directory must be set. An unknown fsync policy is an error.
absl::StatusOr<DurableLogOptions> DurableLogOptionsFromConfig(
    const v1::DurabilityConfig& config, std::string_view server_name);

class DurableLog;

// The durable log of server_name as the herd file's durability section
// asks: opened and recovered into store, or null if the herd keeps its state
// in memory only (no data_directory).
absl::StatusOr<std::unique_ptr<DurableLog>> OpenConfiguredDurableLog(
    const v1::HerdConfig& config, std::string_view server_name,
    LocationStore& store, std::shared_ptr<spdlog::logger> log,
    DurableEnv& env = PosixDurableEnv());

class DurableLog final : public UpdateJournal {
 public:
  // Locks the directory, recovers it into store (which should be empty)
  // and starts the writer and snapshot threads. store must outlive this.
  // Errors name the path (unwritable, in use, damaged).
  static absl::StatusOr<std::unique_ptr<DurableLog>> Open(
      DurableLogOptions options, LocationStore& store,
      std::shared_ptr<spdlog::logger> log);
  ~DurableLog() override;  // Stops.

  DurableLog(const DurableLog&) = delete;
  DurableLog& operator=(const DurableLog&) = delete;

  void Append(const v1::Location& location, DurableDone done) override;
  void AfterDurable(DurableDone done) override;
  size_t Backlog() const override {
    return backlog_.load(std::memory_order_relaxed);
  }
  // The first write, sync or segment creation that failed (OK while
  // healthy). Once set it stays: every later append is refused with it,
  // since after a failed fdatasync nothing written may be trusted.
  absl::Status Failure() const override;

  // Writes and syncs everything queued, runs every callback, abandons a
  // snapshot in progress and joins both threads. Idempotent; appends after
  // it fail at once.
  void Stop();

  const RecoveredLog& recovered() const { return recovered_; }
  uint64_t snapshots_written() const;

 private:
  struct Pending {
    std::string record;  // empty: a barrier (AfterDurable)
    DurableDone done;
  };

  DurableLog(DurableLogOptions options, LocationStore& store,
             std::shared_ptr<spdlog::logger> log);
  void Enqueue(Pending pending);
  void WriterLoop();
  // Writes a batch (and syncs it if the policy says so now); the status
  // every callback of the batch gets.
  absl::Status WriteBatch(const std::vector<Pending>& batch, bool stopping);
  // Starts a new segment and asks for a snapshot of what precedes it.
  absl::Status StartSnapshot();
  void SnapshotLoop(const std::stop_token& stop);

  const DurableLogOptions options_;
  LocationStore& store_;
  const std::shared_ptr<spdlog::logger> log_;
  ScopedFd lock_;
  RecoveredLog recovered_;

  // Only the writer thread touches these (after Open).
  std::unique_ptr<WritableFile> segment_file_;
  uint64_t segment_ = 0;
  uint64_t segment_appends_ = 0;
  bool unsynced_ = false;
  absl::Time next_sync_;
  std::string write_buffer_;

  mutable Mutex mu_;
  std::vector<Pending> queue_ ABSL_GUARDED_BY(mu_);
  // Records queued or being written: not durable yet.
  std::atomic<size_t> backlog_{0};
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Set once a write or sync failed: nothing is durable from then on.
  absl::Status failed_ ABSL_GUARDED_BY(mu_);
  bool snapshot_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool snapshot_busy_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t snapshot_first_live_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t snapshots_written_ ABSL_GUARDED_BY(mu_) = 0;
  // Raised when a snapshot is requested or the log stops.
  WakeFlag snapshot_wake_;

  std::jthread writer_;
  std::jthread snapshotter_;
};

}  // namespace herd

#endif  // HERD_HERDNODE_DURABLE_DURABLE_LOG_H_
