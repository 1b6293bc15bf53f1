#include "herdnode/durable/durable_log.h"

#include <utility>

#include "common/status_text.h"
#include "fmt/format.h"
#include "herdnode/durable/durable_files.h"
#include "herdnode/durable/durable_snapshot.h"
#include "herdnode/durable/record_format.h"

namespace herd {
namespace {

constexpr uint64_t kDefaultSnapshotEvery = 100000;
constexpr uint32_t kDefaultFsyncIntervalMs = 100;

}  // namespace

absl::StatusOr<DurableLogOptions> DurableLogOptionsFromConfig(
    const v1::DurabilityConfig& config, std::string_view server_name) {
  if (config.data_directory().empty()) {
    return absl::InvalidArgumentError("durability.data_directory is empty");
  }
  DurableLogOptions options;
  options.directory =
      fmt::format("{}/{}", config.data_directory(), server_name);
  switch (config.fsync()) {
    case v1::DurabilityConfig::FSYNC_POLICY_UNSPECIFIED:
    case v1::DurabilityConfig::FSYNC_ALWAYS:
      options.fsync = FsyncPolicy::kAlways;
      break;
    case v1::DurabilityConfig::FSYNC_INTERVAL:
      options.fsync = FsyncPolicy::kInterval;
      break;
    case v1::DurabilityConfig::FSYNC_NEVER:
      options.fsync = FsyncPolicy::kNever;
      break;
    default:
      return absl::InvalidArgumentError(
          fmt::format("durability.fsync: unknown policy {}",
                      static_cast<int>(config.fsync())));
  }
  options.fsync_interval = absl::Milliseconds(config.fsync_interval_ms() != 0
                                                  ? config.fsync_interval_ms()
                                                  : kDefaultFsyncIntervalMs);
  options.snapshot_every_entries = config.snapshot_every_entries() != 0
                                       ? config.snapshot_every_entries()
                                       : kDefaultSnapshotEvery;
  return options;
}

absl::StatusOr<std::unique_ptr<DurableLog>> OpenConfiguredDurableLog(
    const v1::HerdConfig& config, std::string_view server_name,
    LocationStore& store, std::shared_ptr<spdlog::logger> log,
    DurableEnv& env) {
  if (config.durability().data_directory().empty()) return nullptr;
  absl::StatusOr<DurableLogOptions> options =
      DurableLogOptionsFromConfig(config.durability(), server_name);
  if (!options.ok()) return options.status();
  options->env = &env;
  return DurableLog::Open(*std::move(options), store, std::move(log));
}

DurableLog::DurableLog(DurableLogOptions options, LocationStore& store,
                       std::shared_ptr<spdlog::logger> log)
    : options_(std::move(options)), store_(store), log_(std::move(log)) {}

absl::StatusOr<std::unique_ptr<DurableLog>> DurableLog::Open(
    DurableLogOptions options, LocationStore& store,
    std::shared_ptr<spdlog::logger> log) {
  // Private constructor: make_unique cannot reach it.
  std::unique_ptr<DurableLog> durable(
      new DurableLog(std::move(options), store, std::move(log)));
  const std::string& directory = durable->options_.directory;
  absl::StatusOr<ScopedFd> lock = LockDataDirectory(directory);
  if (!lock.ok()) return lock.status();
  durable->lock_ = *std::move(lock);
  DurableEnv& env = *durable->options_.env;
  absl::StatusOr<RecoveredLog> recovered = RecoverDataDirectory(
      env, directory, *durable->log_,
      [&store](v1::Location&& location) { store.Offer(location); });
  if (!recovered.ok()) return recovered.status();
  durable->recovered_ = *recovered;
  durable->segment_ = recovered->append_segment;
  durable->segment_appends_ = recovered->append_segment_records;
  const std::string path = SegmentPath(directory, durable->segment_);
  absl::StatusOr<std::unique_ptr<WritableFile>> segment =
      env.OpenWritable(path, DurableEnv::OpenMode::kAppend);
  if (!segment.ok()) return segment.status();
  durable->segment_file_ = *std::move(segment);
  durable->log_->info(
      "durable log {}: recovered {} clients ({} snapshot records, {} log "
      "records, {} torn bytes dropped); appending to {}",
      directory, store.size(), recovered->snapshot_records,
      recovered->log_records, recovered->torn_bytes_dropped, path);
  durable->next_sync_ = absl::Now() + durable->options_.fsync_interval;
  DurableLog* self = durable.get();
  self->writer_ = std::jthread([self] { self->WriterLoop(); });
  self->snapshotter_ = std::jthread(
      [self](const std::stop_token& stop) { self->SnapshotLoop(stop); });
  return durable;
}

DurableLog::~DurableLog() { Stop(); }

void DurableLog::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  snapshot_wake_.Raise();
  if (writer_.joinable()) writer_.join();
  if (snapshotter_.joinable()) {
    snapshotter_.request_stop();
    snapshotter_.join();
  }
}

absl::Status DurableLog::Failure() const {
  MutexLock lock(&mu_);
  return failed_;
}

uint64_t DurableLog::snapshots_written() const {
  MutexLock lock(&mu_);
  return snapshots_written_;
}

void DurableLog::Append(const v1::Location& location, DurableDone done) {
  Pending pending;
  if (absl::Status s = AppendRecord(location, pending.record); !s.ok()) {
    if (done) done(std::move(s));
    return;
  }
  pending.done = std::move(done);
  Enqueue(std::move(pending));
}

void DurableLog::AfterDurable(DurableDone done) {
  Enqueue(Pending{std::string(), std::move(done)});
}

void DurableLog::Enqueue(Pending pending) {
  absl::Status refused;
  {
    MutexLock lock(&mu_);
    if (!failed_.ok()) {
      refused = failed_;
    } else if (stopping_) {
      refused = absl::UnavailableError(fmt::format(
          "durable log {} is closed (node stopping)", options_.directory));
    } else {
      if (!pending.record.empty()) {
        backlog_.fetch_add(1, std::memory_order_relaxed);
      }
      queue_.push_back(std::move(pending));
      return;
    }
  }
  if (pending.done) pending.done(std::move(refused));
}

void DurableLog::WriterLoop() {
  std::vector<Pending> batch;
  while (true) {
    bool stopping = false;
    {
      MutexLock lock(&mu_);
      const auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      if (options_.fsync == FsyncPolicy::kInterval && unsynced_) {
        mu_.AwaitWithDeadline(work, absl::ToChronoTime(next_sync_));
      } else {
        mu_.Await(work);
      }
      // Everything queued while the last batch was being synced goes in
      // this one: that is the group commit.
      batch.swap(queue_);
      stopping = stopping_;
    }
    const absl::Status status = WriteBatch(batch, stopping);
    if (!status.ok()) {
      MutexLock lock(&mu_);
      if (failed_.ok()) {
        failed_ = status;
        log_->error(
            "durable log {} failed: {}; updates are refused from now on",
            options_.directory, StatusMessage(status));
      }
    }
    // Before the callbacks: one of them may be waiting for the backlog.
    size_t records = 0;
    for (const Pending& pending : batch) {
      if (!pending.record.empty()) ++records;
    }
    backlog_.fetch_sub(records, std::memory_order_relaxed);
    for (Pending& pending : batch) {
      if (pending.done) pending.done(status);
    }
    batch.clear();
    if (status.ok() && segment_appends_ >= options_.snapshot_every_entries) {
      if (absl::Status s = StartSnapshot(); !s.ok()) {
        MutexLock lock(&mu_);
        failed_ = s;
        log_->error(
            "durable log {}: cannot start a new segment: {}; updates are "
            "refused from now on",
            options_.directory, StatusMessage(s));
      }
    }
    if (stopping) {
      MutexLock lock(&mu_);
      // Enqueue refuses new work once stopping_ is set, so this drains.
      if (queue_.empty()) return;
    }
  }
}

absl::Status DurableLog::WriteBatch(const std::vector<Pending>& batch,
                                    bool stopping) {
  {
    MutexLock lock(&mu_);
    if (!failed_.ok()) return failed_;
  }
  write_buffer_.clear();
  uint64_t records = 0;
  for (const Pending& pending : batch) {
    if (pending.record.empty()) continue;
    write_buffer_ += pending.record;
    ++records;
  }
  if (records > 0) {
    if (absl::Status s = segment_file_->Append(write_buffer_); !s.ok()) {
      return s;
    }
    segment_appends_ += records;
    unsynced_ = true;
  }
  const bool sync_now =
      options_.fsync == FsyncPolicy::kAlways || stopping ||
      (options_.fsync == FsyncPolicy::kInterval && absl::Now() >= next_sync_);
  if (unsynced_ && sync_now) {
    if (absl::Status s = segment_file_->Sync(); !s.ok()) return s;
    unsynced_ = false;
  }
  if (!unsynced_) next_sync_ = absl::Now() + options_.fsync_interval;
  return absl::OkStatus();
}

absl::Status DurableLog::StartSnapshot() {
  {
    MutexLock lock(&mu_);
    // One at a time; this segment keeps growing until the current one is
    // done.
    if (snapshot_busy_) return absl::OkStatus();
  }
  // The old segment is complete and on disk before anything depends on it.
  if (unsynced_) {
    if (absl::Status s = segment_file_->Sync(); !s.ok()) return s;
    unsynced_ = false;
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> next =
      CreateSegment(*options_.env, options_.directory, segment_ + 1);
  if (!next.ok()) return next.status();
  segment_file_ = *std::move(next);
  ++segment_;
  segment_appends_ = 0;
  // Every update in the older segments was offered to the store before it
  // was queued here, so a store scan starting now holds it (or a newer one).
  MutexLock lock(&mu_);
  snapshot_busy_ = true;
  snapshot_requested_ = true;
  snapshot_first_live_ = segment_;
  snapshot_wake_.Raise();
  return absl::OkStatus();
}

void DurableLog::SnapshotLoop(const std::stop_token& stop) {
  while (true) {
    uint64_t first_live = 0;
    {
      MutexLock lock(&mu_);
      // Slept on outside mu_, which every append locks (see wake_flag.h).
      while (!snapshot_requested_ && !stopping_) {
        mu_.Unlock();
        snapshot_wake_.Sleep();
        mu_.Lock();
      }
      if (stopping_) return;
      snapshot_requested_ = false;
      first_live = snapshot_first_live_;
    }
    absl::StatusOr<uint64_t> written = WriteSnapshot(
        *options_.env, options_.directory, first_live, store_, stop);
    absl::Status status = written.status();
    if (status.ok()) {
      status =
          RemoveSegmentsBefore(*options_.env, options_.directory, first_live);
    }
    if (status.ok()) {
      log_->info(
          "durable log {}: snapshot of {} records written; log "
          "segments before {} removed",
          options_.directory, *written, first_live);
    } else {
      // Not fatal: the old segments stay until the next snapshot works.
      log_->error("durable log {}: snapshot failed: {}", options_.directory,
                  StatusMessage(status));
    }
    MutexLock lock(&mu_);
    snapshot_busy_ = false;
    if (status.ok()) ++snapshots_written_;
  }
}

}  // namespace herd
