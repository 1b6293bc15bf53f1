#include "bench/herd_bench/reply_reader.h"

namespace herd::bench {

boost::asio::awaitable<absl::StatusOr<RawReply>> ReadRawReply(
    LineConnection& connection, Request::Kind kind) {
  RawReply reply;
  auto line = co_await connection.ReadLine();
  if (!line.ok()) co_return line.status();
  reply.first_line = std::string(*line);
  if (kind == Request::Kind::kWhatsat && reply.first_line.starts_with("AT ")) {
    auto json = co_await connection.ReadBlock();
    if (!json.ok()) co_return json.status();
    reply.json = std::string(*json);
  }
  co_return reply;
}

ReplyVerdict CheckReply(const Request& request, const RawReply& reply,
                        absl::Duration max_skew) {
  if (request.kind == Request::Kind::kIamat) {
    return CheckIamatReply(reply.first_line, request.client_id,
                           request.coordinates, request.client_time, max_skew);
  }
  return CheckWhatsatReply(reply.first_line, reply.json,
                           request.expected_at_line, request.max_results);
}

}  // namespace herd::bench
