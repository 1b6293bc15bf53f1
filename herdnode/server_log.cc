#include "herdnode/server_log.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "spdlog/async.h"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/spdlog.h"

namespace herd {

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
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %-5l %v",
                        spdlog::pattern_time_type::utc);
    logger->set_level(spdlog::level::info);
    logger->flush_on(spdlog::level::info);
    return logger;
  } catch (const spdlog::spdlog_ex& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open log file '", path, "': ", e.what()));
  }
}

}  // namespace herd
