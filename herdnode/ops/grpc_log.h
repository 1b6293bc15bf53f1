// gRPC's own log lines (TLS handshake failures among them: a peer whose
// certificate the herd CA did not sign is refused inside gRPC, before any
// handler runs) copied into the server log, so the log says why a peer
// was refused.
#ifndef HERD_HERDNODE_OPS_GRPC_LOG_H_
#define HERD_HERDNODE_OPS_GRPC_LOG_H_

#include <memory>

#include "spdlog/logger.h"

namespace herd {

// While an instance lives, gRPC's log lines go to log as "grpc: ..." and,
// as before, to stderr. gRPC's log hook is process-wide: one instance at
// a time.
class GrpcLogToServerLog {
 public:
  explicit GrpcLogToServerLog(std::shared_ptr<spdlog::logger> log);
  ~GrpcLogToServerLog();  // back to stderr only

  GrpcLogToServerLog(const GrpcLogToServerLog&) = delete;
  GrpcLogToServerLog& operator=(const GrpcLogToServerLog&) = delete;
};

}  // namespace herd

#endif  // HERD_HERDNODE_OPS_GRPC_LOG_H_
