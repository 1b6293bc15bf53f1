#include "herdnode/durable/durable_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "absl/strings/numbers.h"
#include "fmt/format.h"
#include "herdnode/durable/record_format.h"

namespace herd {
namespace {

constexpr std::string_view kSegmentPrefix = "log.";
constexpr size_t kSegmentDigits = 16;

absl::Status FilesystemError(std::string_view what, const std::string& path,
                             const std::error_code& error) {
  return FileError(what, path, error.value());
}

}  // namespace

std::string SegmentPath(const std::string& directory, uint64_t segment) {
  return fmt::format("{}/{}{:0{}d}", directory, kSegmentPrefix, segment,
                     kSegmentDigits);
}

std::string SnapshotPath(const std::string& directory) {
  return directory + "/snapshot";
}

std::string SnapshotTempPath(const std::string& directory) {
  return directory + "/snapshot.tmp";
}

absl::StatusOr<ScopedFd> LockDataDirectory(const std::string& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    return FilesystemError("create data directory", directory, error);
  }
  const std::string lock_path = directory + "/LOCK";
  absl::StatusOr<ScopedFd> lock = OpenFile(lock_path, O_RDWR | O_CREAT);
  if (!lock.ok()) return lock.status();
  if (::flock(lock->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(fmt::format(
          "data directory {} is in use by another herdnode (its LOCK is held)",
          directory));
    }
    return FileError("lock", lock_path, errno);
  }
  return lock;
}

absl::StatusOr<std::vector<uint64_t>> ListSegments(
    DurableEnv& env, const std::string& directory) {
  absl::StatusOr<std::vector<std::string>> names = env.ListDirectory(directory);
  if (!names.ok()) return names.status();
  std::vector<uint64_t> segments;
  for (const std::string& name : *names) {
    uint64_t number = 0;
    if (name.size() == kSegmentPrefix.size() + kSegmentDigits &&
        name.starts_with(kSegmentPrefix) &&
        absl::SimpleAtoi(name.substr(kSegmentPrefix.size()), &number)) {
      segments.push_back(number);
    }
  }
  std::sort(segments.begin(), segments.end());
  return segments;
}

absl::StatusOr<std::unique_ptr<WritableFile>> CreateSegment(
    DurableEnv& env, const std::string& directory, uint64_t segment) {
  absl::StatusOr<std::unique_ptr<WritableFile>> file = env.OpenWritable(
      SegmentPath(directory, segment), DurableEnv::OpenMode::kCreateNew);
  if (!file.ok()) return file.status();
  const std::string header =
      EncodeFileHeader(DurableFileKind::kLogSegment, segment);
  if (absl::Status s = (*file)->Append(header); !s.ok()) return s;
  if (absl::Status s = (*file)->Sync(); !s.ok()) return s;
  if (absl::Status s = env.SyncDirectory(directory); !s.ok()) return s;
  return file;
}

absl::Status RemoveSegmentsBefore(DurableEnv& env, const std::string& directory,
                                  uint64_t first_kept) {
  absl::StatusOr<std::vector<uint64_t>> segments = ListSegments(env, directory);
  if (!segments.ok()) return segments.status();
  bool removed = false;
  for (const uint64_t segment : *segments) {
    if (segment >= first_kept) break;
    if (absl::Status s = env.Remove(SegmentPath(directory, segment)); !s.ok()) {
      return s;
    }
    removed = true;
  }
  return removed ? env.SyncDirectory(directory) : absl::OkStatus();
}

}  // namespace herd
