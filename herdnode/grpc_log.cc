#include "herdnode/grpc_log.h"

#include <cstdio>
#include <utility>

#include "absl/base/const_init.h"
#include "absl/synchronization/mutex.h"
#include "grpc/support/log.h"

namespace herd {
namespace {

// gRPC threads may log until the process ends, so the hook stays installed
// and only the logger it writes to comes and goes.
ABSL_CONST_INIT absl::Mutex target_mu(absl::kConstInit);

std::shared_ptr<spdlog::logger>& Target()
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(target_mu) {
  static std::shared_ptr<spdlog::logger> target;
  return target;
}

void Forward(gpr_log_func_args* args) {
  std::fprintf(stderr, "grpc %s %s:%d] %s\n",
               gpr_log_severity_string(args->severity), args->file, args->line,
               args->message);
  absl::MutexLock lock(&target_mu);
  if (Target() == nullptr) return;
  const spdlog::level::level_enum level =
      args->severity == GPR_LOG_SEVERITY_ERROR  ? spdlog::level::warn
      : args->severity == GPR_LOG_SEVERITY_INFO ? spdlog::level::info
                                                : spdlog::level::debug;
  Target()->log(level, "grpc: {}", args->message);
}

}  // namespace

GrpcLogToServerLog::GrpcLogToServerLog(std::shared_ptr<spdlog::logger> log) {
  {
    absl::MutexLock lock(&target_mu);
    Target() = std::move(log);
  }
  gpr_set_log_function(Forward);
}

GrpcLogToServerLog::~GrpcLogToServerLog() {
  absl::MutexLock lock(&target_mu);
  Target().reset();
}

}  // namespace herd
