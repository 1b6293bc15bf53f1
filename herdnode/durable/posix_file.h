// Thin POSIX file helpers for the durable log: an owned descriptor, whole
// writes, fdatasync and directory fsync, with errors that name the path.
// (std::fstream cannot fsync, and the log's guarantees rest on fsync.)
#ifndef HERD_HERDNODE_DURABLE_POSIX_FILE_H_
#define HERD_HERDNODE_DURABLE_POSIX_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace herd {

// Owns a file descriptor; closes it on destruction. Move-only.
class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(ScopedFd&& other) noexcept : fd_(other.Release()) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept;
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();

 private:
  int fd_ = -1;
};

// "cannot <what> <path>: <strerror(error_number)>", as an absl::Status
// whose code fits the errno (NOT_FOUND, PERMISSION_DENIED, ...).
absl::Status FileError(std::string_view what, const std::string& path,
                       int error_number);

// open(2) with O_CLOEXEC added.
absl::StatusOr<ScopedFd> OpenFile(const std::string& path, int flags,
                                  int mode = 0644);

// Writes all of bytes (retrying short writes and EINTR).
absl::Status WriteAll(int fd, std::string_view bytes, const std::string& path);

// fdatasync(2): the file's data (and its size) are on disk.
absl::Status SyncData(int fd, const std::string& path);

// fsync(2) of a directory: entries created, renamed or removed in it are on
// disk.
absl::Status SyncDirectory(const std::string& directory);

// The whole file.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace herd

#endif  // HERD_HERDNODE_DURABLE_POSIX_FILE_H_
