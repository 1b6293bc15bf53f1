// Each server's log file: every message in and out and every connection
// opened or dropped, time-stamped to the microsecond.
#ifndef HERD_HERDNODE_OPS_SERVER_LOG_H_
#define HERD_HERDNODE_OPS_SERVER_LOG_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "spdlog/logger.h"

namespace herd {

// Opens (appending) <directory>/<server_name>.log, creating the directory if
// needed. A line is formatted on the caller's thread into memory, and a thread
// of the logger's own writes the file in chunks, at most a few milliseconds
// behind. It blocks callers rather than drop lines when far behind: nothing
// is lost.
absl::StatusOr<std::shared_ptr<spdlog::logger>> OpenServerLog(
    const std::string& directory, const std::string& server_name);

}  // namespace herd

#endif  // HERD_HERDNODE_OPS_SERVER_LOG_H_
