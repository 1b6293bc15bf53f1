#include "herdnode/durable/durable_recovery.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <system_error>
#include <vector>

#include "common/status_text.h"
#include "fmt/format.h"
#include "herdnode/durable/durable_files.h"
#include "herdnode/durable/posix_file.h"
#include "herdnode/durable/record_format.h"

namespace herd {
namespace {

absl::Status InFile(const std::string& path, const absl::Status& status) {
  return absl::Status(status.code(),
                      fmt::format("{}: {}", path, StatusMessage(status)));
}

bool Exists(const std::string& path) {
  std::error_code ignored;
  return std::filesystem::exists(path, ignored);
}

// The snapshot's first live segment, after handing over its records.
absl::StatusOr<uint64_t> ReadSnapshot(
    const std::string& path, RecoveredLog& recovered,
    absl::FunctionRef<void(v1::Location&&)> apply) {
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<uint64_t> first_live =
      DecodeFileHeader(*bytes, DurableFileKind::kSnapshot);
  if (!first_live.ok()) return InFile(path, first_live.status());
  if (bytes->size() < kFileHeaderBytes + kSnapshotFooterBytes) {
    return absl::DataLossError(fmt::format(
        "{}: snapshot cut short ({} bytes, no footer)", path, bytes->size()));
  }
  const size_t body_end = bytes->size() - kSnapshotFooterBytes;
  const std::string_view snapshot = *bytes;
  const std::optional<uint64_t> count =
      DecodeSnapshotFooter(snapshot.substr(body_end));
  if (!count.has_value()) {
    return absl::DataLossError(fmt::format(
        "{}: snapshot has no valid footer (cut short or damaged)", path));
  }
  // A snapshot is complete and synced before its rename: any bad record in
  // it is damage, never a crash in progress.
  const RecordScan scan =
      ScanRecords(snapshot.substr(0, body_end), kFileHeaderBytes, apply);
  if (scan.good_end != body_end) {
    return absl::DataLossError(fmt::format(
        "{}: damaged snapshot record at offset {}", path, scan.good_end));
  }
  if (scan.records != *count) {
    return absl::DataLossError(
        fmt::format("{}: snapshot holds {} records, its footer says {}", path,
                    scan.records, *count));
  }
  recovered.snapshot_records = scan.records;
  return *first_live;
}

absl::Status RewriteHeader(DurableEnv& env, const std::string& path,
                           uint64_t segment) {
  absl::StatusOr<std::unique_ptr<WritableFile>> file =
      env.OpenWritable(path, DurableEnv::OpenMode::kTruncate);
  if (!file.ok()) return file.status();
  const std::string header =
      EncodeFileHeader(DurableFileKind::kLogSegment, segment);
  if (absl::Status s = (*file)->Append(header); !s.ok()) return s;
  if (absl::Status s = (*file)->Sync(); !s.ok()) return s;
  return (*file)->Close();
}

absl::Status Truncate(const std::string& path, size_t length) {
  absl::StatusOr<ScopedFd> fd = OpenFile(path, O_WRONLY);
  if (!fd.ok()) return fd.status();
  if (::ftruncate(fd->get(), static_cast<off_t>(length)) != 0) {
    return FileError("truncate", path, errno);
  }
  return SyncData(fd->get(), path);
}

// Replays one segment; returns how many records it holds.
absl::StatusOr<uint64_t> ReplaySegment(
    DurableEnv& env, const std::string& path, uint64_t segment,
    spdlog::logger& log, RecoveredLog& recovered,
    absl::FunctionRef<void(v1::Location&&)> apply) {
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() < kFileHeaderBytes) {
    // Killed while creating the segment: nothing was ever appended to it.
    log.warn("{}: header cut short ({} bytes): starting the segment again",
             path, bytes->size());
    if (absl::Status s = RewriteHeader(env, path, segment); !s.ok()) return s;
    return 0;
  }
  absl::StatusOr<uint64_t> number =
      DecodeFileHeader(*bytes, DurableFileKind::kLogSegment);
  if (!number.ok()) return InFile(path, number.status());
  if (*number != segment) {
    return absl::DataLossError(
        fmt::format("{}: header says segment {}, the name says {}", path,
                    *number, segment));
  }
  const RecordScan scan = ScanRecords(*bytes, kFileHeaderBytes, apply);
  if (scan.good_end == bytes->size()) return scan.records;
  if (scan.next_valid.has_value()) {
    return absl::DataLossError(fmt::format(
        "{}: damaged record at offset {} is followed by a valid record at "
        "offset {}; refusing to start rather than silently drop logged "
        "updates (move the data directory aside to start empty, or cut the "
        "file at offset {} to keep what precedes the damage)",
        path, scan.good_end, *scan.next_valid, scan.good_end));
  }
  const size_t torn = bytes->size() - scan.good_end;
  log.warn(
      "{}: dropping a torn tail of {} bytes at offset {} (a write cut "
      "short by a crash; never acknowledged)",
      path, torn, scan.good_end);
  if (absl::Status s = Truncate(path, scan.good_end); !s.ok()) return s;
  recovered.torn_bytes_dropped += torn;
  return scan.records;
}

}  // namespace

absl::StatusOr<RecoveredLog> RecoverDataDirectory(
    DurableEnv& env, const std::string& directory, spdlog::logger& log,
    absl::FunctionRef<void(v1::Location&&)> apply) {
  RecoveredLog recovered;
  const std::string temp = SnapshotTempPath(directory);
  if (Exists(temp)) {
    log.warn("{}: removing a snapshot interrupted before its rename", temp);
    if (absl::Status s = env.Remove(temp); !s.ok()) return s;
  }
  uint64_t first_live = 1;
  const std::string snapshot = SnapshotPath(directory);
  if (Exists(snapshot)) {
    absl::StatusOr<uint64_t> read = ReadSnapshot(snapshot, recovered, apply);
    if (!read.ok()) return read.status();
    first_live = *read;
  }
  absl::StatusOr<std::vector<uint64_t>> segments = ListSegments(env, directory);
  if (!segments.ok()) return segments.status();
  std::vector<uint64_t> live;
  for (const uint64_t segment : *segments) {
    if (segment >= first_live) live.push_back(segment);
  }
  if (live.size() != segments->size()) {
    // A crash after the snapshot's rename, before these were removed.
    log.info("{}: removing {} log segments the snapshot already holds",
             directory, segments->size() - live.size());
    if (absl::Status s = RemoveSegmentsBefore(env, directory, first_live);
        !s.ok()) {
      return s;
    }
  }
  if (live.empty()) {
    absl::StatusOr<std::unique_ptr<WritableFile>> created =
        CreateSegment(env, directory, first_live);
    if (!created.ok()) return created.status();
    recovered.append_segment = first_live;
    return recovered;
  }
  for (size_t i = 0; i < live.size(); ++i) {
    // Segments are created one after another and removed only below a
    // snapshot: a gap means updates are missing.
    if (live[i] != first_live + i) {
      return absl::DataLossError(fmt::format(
          "{} is missing (segments must run on from {} without gaps)",
          SegmentPath(directory, first_live + i), first_live));
    }
    absl::StatusOr<uint64_t> records = ReplaySegment(
        env, SegmentPath(directory, live[i]), live[i], log, recovered, apply);
    if (!records.ok()) return records.status();
    recovered.log_records += *records;
    recovered.append_segment = live[i];
    recovered.append_segment_records = *records;
  }
  return recovered;
}

}  // namespace herd
