#include "fault_env.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "herdnode/durable/posix_file.h"

namespace herd::testing {
namespace {

int ErrnoOf(DiskFault fault) {
  return fault == DiskFault::kDiskFull ? ENOSPC : EIO;
}

}  // namespace

std::string_view DiskFaultName(DiskFault fault) {
  switch (fault) {
    case DiskFault::kNone:
      return "None";
    case DiskFault::kWriteError:
      return "WriteError";
    case DiskFault::kSyncError:
      return "SyncError";
    case DiskFault::kShortWrite:
      return "ShortWrite";
    case DiskFault::kDiskFull:
      return "DiskFull";
  }
  return "?";
}

std::string DiskFaultErrorText(DiskFault fault) {
  return std::strerror(ErrnoOf(fault));
}

class FaultEnv::File final : public WritableFile {
 public:
  File(FaultEnv& env, std::unique_ptr<WritableFile> target)
      : env_(env), target_(std::move(target)) {}

  absl::Status Append(std::string_view bytes) override {
    const DiskFault fault = env_.FaultFor(path());
    switch (fault) {
      case DiskFault::kWriteError:
        env_.CountHit();
        return FileError("write", path(), ErrnoOf(fault));
      case DiskFault::kShortWrite:
      case DiskFault::kDiskFull: {
        env_.CountHit();
        // What a real short write leaves: a prefix on disk, then an error
        // for the rest.
        if (absl::Status s = target_->Append(bytes.substr(0, bytes.size() / 2));
            !s.ok()) {
          return s;
        }
        return FileError("write", path(), ErrnoOf(fault));
      }
      case DiskFault::kNone:
      case DiskFault::kSyncError:
        break;
    }
    return target_->Append(bytes);
  }

  absl::Status Sync() override {
    if (env_.FaultFor(path()) == DiskFault::kSyncError) {
      env_.CountHit();
      return FileError("fdatasync", path(), EIO);
    }
    return target_->Sync();
  }

  absl::Status Close() override { return target_->Close(); }
  const std::string& path() const override { return target_->path(); }

 private:
  FaultEnv& env_;
  const std::unique_ptr<WritableFile> target_;
};

absl::StatusOr<std::unique_ptr<WritableFile>> FaultEnv::OpenWritable(
    const std::string& path, OpenMode mode) {
  absl::StatusOr<std::unique_ptr<WritableFile>> file =
      target_.OpenWritable(path, mode);
  if (!file.ok()) return file.status();
  return std::make_unique<File>(*this, *std::move(file));
}

}  // namespace herd::testing
