#include "herdnode/durable/durable_env.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <utility>

#include "herdnode/durable/posix_file.h"

namespace herd {
namespace {

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, ScopedFd fd)
      : path_(std::move(path)), fd_(std::move(fd)) {}

  absl::Status Append(std::string_view bytes) override {
    return WriteAll(fd_.get(), bytes, path_);
  }
  absl::Status Sync() override { return SyncData(fd_.get(), path_); }
  absl::Status Close() override {
    // close(2) is not retried on EINTR: the descriptor is gone either way.
    if (::close(fd_.Release()) != 0) return FileError("close", path_, errno);
    return absl::OkStatus();
  }
  const std::string& path() const override { return path_; }

 private:
  const std::string path_;
  ScopedFd fd_;
};

class PosixEnv final : public DurableEnv {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> OpenWritable(
      const std::string& path, OpenMode mode) override {
    int flags = O_WRONLY;
    switch (mode) {
      case OpenMode::kCreateNew:
        flags |= O_CREAT | O_EXCL | O_APPEND;
        break;
      case OpenMode::kTruncate:
        flags |= O_CREAT | O_TRUNC;
        break;
      case OpenMode::kAppend:
        flags |= O_APPEND;
        break;
    }
    absl::StatusOr<ScopedFd> fd = OpenFile(path, flags);
    if (!fd.ok()) return fd.status();
    return std::make_unique<PosixWritableFile>(path, *std::move(fd));
  }

  absl::Status SyncDirectory(const std::string& directory) override {
    return herd::SyncDirectory(directory);
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return FileError("rename " + from + " to", to, errno);
    }
    return absl::OkStatus();
  }

  absl::Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return FileError("remove", path, errno);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ListDirectory(
      const std::string& directory) override {
    std::vector<std::string> names;
    std::error_code error;
    std::filesystem::directory_iterator it(directory, error);
    if (error) return FileError("list", directory, error.value());
    for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
      names.push_back(it->path().filename().string());
    }
    if (error) return FileError("list", directory, error.value());
    return names;
  }
};

}  // namespace

DurableEnv& PosixDurableEnv() {
  // Stateless: destroying it at exit is harmless.
  static PosixEnv env;
  return env;
}

}  // namespace herd
