#include "herdnode/ops/server_log.h"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stop_token>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/mutex.h"
#include "spdlog/formatter.h"
#include "spdlog/sinks/sink.h"
#include "spdlog/spdlog.h"

namespace herd {
namespace {

using Clock = spdlog::log_clock;

// Printable ASCII but the backslash: written as is.
bool IsPlain(unsigned char byte) {
  return byte >= 0x20 && byte < 0x7f && byte != '\\';
}

// Whether all 8 bytes of word are plain, with a few word operations instead
// of 8 byte tests (a "has a byte less than n" bit trick, exact for n <= 128).
bool AllPlain(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHighBits = kOnes * 0x80;
  const auto has_byte_below = [](uint64_t x, uint64_t n) {
    return ((x - kOnes * n) & ~x & kHighBits) != 0;
  };
  return (word & kHighBits) == 0 &&                    // no byte >= 0x80
         !has_byte_below(word, 0x20) &&                // no control byte
         !has_byte_below(word ^ (kOnes * 0x7f), 1) &&  // no DEL
         !has_byte_below(word ^ (kOnes * '\\'), 1);    // no backslash
}

// Appends text with every byte a client could have chosen made safe for a
// text file: printable ASCII as is, a backslash doubled, anything else (NUL,
// terminal escape sequences, bytes >= 0x80) as \xNN. Done here, once, so no
// caller can forget it: client ids and lines reach the log from the gateway,
// the node and the peer links alike. Runs of plain bytes are copied whole.
void AppendEscaped(std::string_view text, spdlog::memory_buf_t& out) {
  constexpr char kHex[] = "0123456789abcdef";
  size_t plain_from = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (text.size() - i >= sizeof(uint64_t)) {
      uint64_t word = 0;
      std::memcpy(&word, text.data() + i, sizeof(word));
      if (AllPlain(word)) {
        i += sizeof(word);
        continue;
      }
    }
    const auto byte = static_cast<unsigned char>(text[i]);
    if (IsPlain(byte)) {
      ++i;
      continue;
    }
    out.append(text.data() + plain_from, text.data() + i);
    if (byte == '\\') {
      out.append(std::string_view("\\\\"));
    } else {
      const std::array<char, 4> escaped = {'\\', 'x', kHex[byte >> 4U],
                                           kHex[byte & 0xfU]};
      out.append(escaped.data(), escaped.data() + escaped.size());
    }
    plain_from = ++i;
  }
  out.append(text.data() + plain_from, text.data() + text.size());
}

// Appends value as exactly `digits` decimal digits, zero-padded.
void AppendDigits(uint32_t value, int digits, spdlog::memory_buf_t& out) {
  std::array<char, 10> text{};
  for (int i = digits - 1; i >= 0; --i) {
    text[static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(text.data(), text.data() + digits);
}

// Every line as "2021-05-19T22:53:47.959498Z info  <escaped message>": UTC to
// the microsecond, the level left-aligned in 5 columns. One pass, with the
// date and time up to the second made once per second (spdlog's pattern
// formatter runs a dozen flag formatters per line).
class ServerLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& message,
              spdlog::memory_buf_t& dest) override {
    const auto since_epoch = message.time.time_since_epoch();
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    if (seconds != cached_seconds_ || cached_prefix_.size() == 0) {
      cached_seconds_ = seconds;
      const std::time_t time = Clock::to_time_t(message.time);
      std::tm utc{};
      gmtime_r(&time, &utc);
      cached_prefix_.clear();
      fmt::format_to(std::back_inserter(cached_prefix_),
                     "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                     utc.tm_sec);
    }
    dest.append(cached_prefix_.data(),
                cached_prefix_.data() + cached_prefix_.size());
    AppendDigits(static_cast<uint32_t>(
                     std::chrono::duration_cast<std::chrono::microseconds>(
                         since_epoch - seconds)
                         .count()),
                 6, dest);
    dest.append(std::string_view("Z "));
    const spdlog::string_view_t level =
        spdlog::level::to_string_view(message.level);
    dest.append(level.data(), level.data() + level.size());
    for (size_t width = level.size(); width < 5; ++width) dest.push_back(' ');
    dest.push_back(' ');
    AppendEscaped(
        std::string_view(message.payload.data(), message.payload.size()), dest);
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<ServerLogFormatter>();
  }

 private:
  std::chrono::seconds cached_seconds_{0};
  spdlog::memory_buf_t cached_prefix_;
};

// The log file, written by a thread of its own. A caller formats its line
// into a buffer in memory, under a lock: no system call, and no wake-up of
// another thread except for the first line after a quiet spell (spdlog's
// async logger wakes its thread for every line that finds it idle: one futex
// call and two context switches per line at our rates). The writer writes at
// most once per kGatherTime, everything gathered, with one write(2): a line
// after a quiet spell is in the file at once, and under load a write carries
// many lines. Never drops a line: past kMaxPending unwritten bytes,
// callers wait for the writer (as spdlog's "block" policy did).
class BufferedFileSink final : public spdlog::sinks::sink {
 public:
  // Each gathering costs the writer a wake-up and a write(2); under load
  // that is the log's whole cost in system calls, so it is kept rare. A
  // line is still in the file within this long, and at exit at once.
  static constexpr std::chrono::milliseconds kGatherTime{10};
  static constexpr size_t kMaxPending = size_t{16} << 20;

  // Takes file (open for appending, unbuffered: chunks go straight to
  // write(2)).
  explicit BufferedFileSink(std::ofstream file)
      : file_(std::move(file)),
        writer_([this](const std::stop_token& stop) { WriteLoop(stop); }) {}

  ~BufferedFileSink() override {
    writer_.request_stop();
    writer_.join();
    WritePending();
  }

  BufferedFileSink(const BufferedFileSink&) = delete;
  BufferedFileSink& operator=(const BufferedFileSink&) = delete;

  void log(const spdlog::details::log_msg& message) override {
    MutexLock lock(&mu_);
    mu_.Await([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return pending_.size() < kMaxPending;
    });
    line_.clear();
    formatter_->format(message, line_);
    pending_.append(line_.data(), line_.size());
  }

  // Writes what is pending now, on the caller's thread.
  void flush() override { WritePending(); }

  // One format for every server log (see ServerLogFormatter).
  void set_pattern(const std::string& /*pattern*/) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    MutexLock lock(&mu_);
    formatter_ = std::move(formatter);
  }

 private:
  void WriteLoop(const std::stop_token& stop) {
    // Wakes the wait below (every unlock of mu_ lets waiters re-check).
    const std::stop_callback wake(stop, [this] { MutexLock lock(&mu_); });
    std::chrono::steady_clock::time_point last_write;
    while (!stop.stop_requested()) {
      {
        MutexLock lock(&mu_);
        mu_.Await([this, &stop]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return !pending_.empty() || stop.stop_requested();
        });
      }
      // The first line after a quiet spell goes out at once; while busy,
      // one write per kGatherTime, lines gathering meanwhile. (Not waiting
      // on mu_ while asleep, so callers' unlocks wake nobody.)
      std::this_thread::sleep_until(last_write + kGatherTime);
      WritePending();
      last_write = std::chrono::steady_clock::now();
    }
  }

  void WritePending() {
    // Held across taking and writing, so chunks reach the file in order.
    MutexLock write_lock(&write_mu_);
    {
      MutexLock lock(&mu_);
      writing_.swap(pending_);  // both keep their capacity
    }
    if (writing_.empty()) return;
    // Nowhere to report a failed write to (this is the log); the next
    // chunk tries again.
    file_.write(writing_.data(), static_cast<std::streamsize>(writing_.size()));
    file_.clear();
    writing_.clear();
  }

  Mutex write_mu_;
  std::ofstream file_ ABSL_GUARDED_BY(write_mu_);
  std::string writing_ ABSL_GUARDED_BY(write_mu_);
  Mutex mu_;
  std::string pending_ ABSL_GUARDED_BY(mu_);
  spdlog::memory_buf_t line_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<spdlog::formatter> formatter_ ABSL_GUARDED_BY(mu_) =
      std::make_unique<ServerLogFormatter>();
  // Last: starts once everything it uses is there.
  std::jthread writer_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<spdlog::logger>> OpenServerLog(
    const std::string& directory, const std::string& server_name) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create log directory '", directory, "': ", error.message()));
  }
  const std::string path =
      (std::filesystem::path(directory) / (server_name + ".log")).string();
  std::ofstream file;
  // Unbuffered (set before opening, or it has no effect): the sink writes
  // whole chunks itself.
  file.rdbuf()->pubsetbuf(nullptr, 0);
  file.open(path, std::ios::binary | std::ios::app);
  if (!file.is_open()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot open log file '", path, "': ", std::strerror(errno)));
  }
  auto logger = std::make_shared<spdlog::logger>(
      server_name, std::make_shared<BufferedFileSink>(std::move(file)));
  logger->set_level(spdlog::level::info);
  return logger;
}

}  // namespace herd
