// Where the propagation probe looks for an update at server B: the text
// protocol's WHATSAT (works for every herd), or, for our herd, the node's
// gRPC GetLocation (works before a places provider answers WHATSAT).
#ifndef HERD_BENCH_HERD_BENCH_VISIBILITY_PROBE_H_
#define HERD_BENCH_HERD_BENCH_VISIBILITY_PROBE_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/herd_bench/line_connection.h"
#include "boost/asio/any_io_executor.hpp"
#include "boost/asio/awaitable.hpp"

namespace herd::bench {

class VisibilityProbe {
 public:
  virtual ~VisibilityProbe() = default;

  virtual boost::asio::awaitable<absl::Status> Connect() = 0;
  // One look at B: the AT line B holds for the client, or nullopt while B
  // has not heard of it.
  virtual boost::asio::awaitable<absl::StatusOr<std::optional<std::string>>>
  Look(const std::string& client_id) = 0;
  virtual void Close() = 0;
  // "WHATSAT" or "GetLocation", for the report.
  virtual const char* method() const = 0;
};

// WHATSAT <client> 10 5 on a text connection; "? " means not yet. The JSON
// of a positive answer is checked too.
std::unique_ptr<VisibilityProbe> MakeWhatsatProbe(
    const boost::asio::any_io_executor& executor, Endpoint server,
    absl::Duration io_timeout);

// herd.v1.HerdNode/GetLocation on a node's gRPC address; NOT_FOUND means not
// yet. The AT line is rebuilt from the stored Location.
std::unique_ptr<VisibilityProbe> MakeGetLocationProbe(
    std::string grpc_target, absl::Duration io_timeout);

}  // namespace herd::bench

#endif  // HERD_BENCH_HERD_BENCH_VISIBILITY_PROBE_H_
