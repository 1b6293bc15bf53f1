#include "herdnode/durable/posix_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "fmt/format.h"

namespace herd {

ScopedFd& ScopedFd::operator=(ScopedFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

ScopedFd::~ScopedFd() {
  if (fd_ >= 0) ::close(fd_);
}

int ScopedFd::Release() { return std::exchange(fd_, -1); }

absl::Status FileError(std::string_view what, const std::string& path,
                       int error_number) {
  return absl::Status(
      absl::ErrnoToStatusCode(error_number),
      fmt::format("cannot {} {}: {}", what, path, std::strerror(error_number)));
}

absl::StatusOr<ScopedFd> OpenFile(const std::string& path, int flags,
                                  int mode) {
  int fd = -1;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return FileError("open", path, errno);
  return ScopedFd(fd);
}

absl::Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return FileError("write", path, errno);
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  return absl::OkStatus();
}

absl::Status SyncData(int fd, const std::string& path) {
  // No retry on EINTR-less failure: after a failed fdatasync the kernel may
  // have dropped the dirty pages, so retrying could report success falsely.
  if (::fdatasync(fd) != 0) return FileError("fdatasync", path, errno);
  return absl::OkStatus();
}

absl::Status SyncDirectory(const std::string& directory) {
  absl::StatusOr<ScopedFd> fd = OpenFile(directory, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return fd.status();
  if (::fsync(fd->get()) != 0) return FileError("fsync", directory, errno);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  absl::StatusOr<ScopedFd> fd = OpenFile(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  std::string contents;
  char buffer[1 << 16];
  while (true) {
    const ssize_t got = ::read(fd->get(), buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      return FileError("read", path, errno);
    }
    if (got == 0) return contents;
    contents.append(buffer, static_cast<size_t>(got));
  }
}

}  // namespace herd
