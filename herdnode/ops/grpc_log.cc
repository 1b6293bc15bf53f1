#include "herdnode/ops/grpc_log.h"

#include <cstdio>
#include <utility>

#include "common/mutex.h"
#include "grpc/support/log.h"

namespace herd {
namespace {

// gRPC threads may log until the process ends, so the hook stays installed
// and only the logger it writes to comes and goes.
struct LogTarget {
  Mutex mu;
  std::shared_ptr<spdlog::logger> logger ABSL_GUARDED_BY(mu);
};

// A function's static, not a global: built on first use, whichever thread
// logs first.
LogTarget& Target() {
  static LogTarget target;
  return target;
}

void Forward(gpr_log_func_args* args) {
  std::fprintf(stderr, "grpc %s %s:%d] %s\n",
               gpr_log_severity_string(args->severity), args->file, args->line,
               args->message);
  LogTarget& target = Target();
  MutexLock lock(&target.mu);
  if (target.logger == nullptr) return;
  const spdlog::level::level_enum level =
      args->severity == GPR_LOG_SEVERITY_ERROR  ? spdlog::level::warn
      : args->severity == GPR_LOG_SEVERITY_INFO ? spdlog::level::info
                                                : spdlog::level::debug;
  target.logger->log(level, "grpc: {}", args->message);
}

}  // namespace

GrpcLogToServerLog::GrpcLogToServerLog(std::shared_ptr<spdlog::logger> log) {
  {
    LogTarget& target = Target();
    MutexLock lock(&target.mu);
    target.logger = std::move(log);
  }
  gpr_set_log_function(Forward);
}

GrpcLogToServerLog::~GrpcLogToServerLog() {
  LogTarget& target = Target();
  MutexLock lock(&target.mu);
  target.logger.reset();
}

}  // namespace herd
