// Reads one reply off a connection, framed by what was asked: an IAMAT reply
// is one line; a WHATSAT reply is one line and, when that is an AT line, the
// JSON lines up to the blank line that ends it.
#ifndef HERD_BENCH_HERD_BENCH_REPLY_READER_H_
#define HERD_BENCH_HERD_BENCH_REPLY_READER_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/herd_bench/line_connection.h"
#include "bench/herd_bench/reply_check.h"
#include "bench/herd_bench/workload.h"
#include "boost/asio/awaitable.hpp"

namespace herd::bench {

struct RawReply {
  std::string first_line;
  std::string json;  // WHATSAT with an AT line only
};

boost::asio::awaitable<absl::StatusOr<RawReply>> ReadRawReply(
    LineConnection& connection, Request::Kind kind);

// Checks a reply against the request it answers.
ReplyVerdict CheckReply(const Request& request, const RawReply& reply,
                        absl::Duration max_skew);

}  // namespace herd::bench

#endif  // HERD_BENCH_HERD_BENCH_REPLY_READER_H_
