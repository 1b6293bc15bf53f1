// absl::Status and grpc::Status, one way: both use the canonical status
// codes (0 OK .. 16 UNAUTHENTICATED), so a code carries over by number.
#ifndef HERD_COMMON_GRPC_STATUS_H_
#define HERD_COMMON_GRPC_STATUS_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "common/status_text.h"
#include "grpcpp/support/status.h"

namespace herd {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      StatusMessage(status));
}

// A status carried as a number and a message (e.g. LocationReportResult):
// a number outside the canonical codes reads as UNKNOWN, never as OK.
inline grpc::Status GrpcStatusFromCode(int code, std::string message) {
  const bool known = code > 0 && code <= grpc::StatusCode::UNAUTHENTICATED;
  return grpc::Status(
      known ? static_cast<grpc::StatusCode>(code) : grpc::StatusCode::UNKNOWN,
      std::move(message));
}

}  // namespace herd

#endif  // HERD_COMMON_GRPC_STATUS_H_
