#include "herdnode/server_log.h"

#include <ctime>
#include <filesystem>
#include <iterator>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "spdlog/async.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/spdlog.h"

namespace herd {
namespace {

// The message text with every byte a client could have chosen made safe for
// a text file: printable ASCII as is, a backslash doubled, anything else
// (NUL, terminal escape sequences, bytes >= 0x80) as \xNN. Done here, once,
// so no caller can forget it: client ids and lines reach the log from the
// gateway, the node and the peer links alike.
class EscapedPayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& message, const std::tm& /*time*/,
              spdlog::memory_buf_t& out) override {
    for (const char c : message.payload) {
      const auto byte = static_cast<unsigned char>(c);
      if (c == '\\') {
        out.append(std::string_view("\\\\"));
      } else if (byte >= 0x20 && byte < 0x7f) {
        out.push_back(c);
      } else {
        fmt::format_to(std::back_inserter(out), "\\x{:02x}", byte);
      }
    }
  }

  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedPayload>();
  }
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
  try {
    // One shared logging thread for the process; block, never drop.
    static std::once_flag pool_once;
    std::call_once(pool_once, [] { spdlog::init_thread_pool(8192, 1); });
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
    auto logger = std::make_shared<spdlog::async_logger>(
        server_name, std::move(sink), spdlog::thread_pool(),
        spdlog::async_overflow_policy::block);
    auto formatter = std::make_unique<spdlog::pattern_formatter>(
        spdlog::pattern_time_type::utc);
    formatter->add_flag<EscapedPayload>('*').set_pattern(
        "%Y-%m-%dT%H:%M:%S.%fZ %-5l %*");
    logger->set_formatter(std::move(formatter));
    logger->set_level(spdlog::level::info);
    logger->flush_on(spdlog::level::info);
    return logger;
  } catch (const spdlog::spdlog_ex& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open log file '", path, "': ", e.what()));
  }
}

}  // namespace herd
