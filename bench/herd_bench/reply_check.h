// Checks every reply against what the protocol (docs/PROTOCOL.md) says it
// must be, so a benchmark of a broken server reports errors, not speed.
#ifndef HERD_BENCH_HERD_BENCH_REPLY_CHECK_H_
#define HERD_BENCH_HERD_BENCH_REPLY_CHECK_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace herd::bench {

// Why a reply was wrong, for counting errors by kind.
enum class ReplyError {
  kNone,
  kQuestionMark,  // the server answered "? ..." (rejected or unknown client)
  kMalformed,     // not the shape the protocol prescribes
  kMismatch,      // well formed, but not the fields / line it must echo
};
const char* ReplyErrorName(ReplyError error);

struct ReplyVerdict {
  ReplyError error = ReplyError::kNone;
  std::string detail;  // names the problem; empty when kNone
  size_t places = 0;   // a correct WHATSAT reply: how many results it listed
  bool ok() const { return error == ReplyError::kNone; }
};

// An IAMAT reply line (without '\n'):
//   AT <server> <±seconds.nnnnnnnnn> <client> <coordinates> <client time>
// The last three fields must equal what was sent, and the time difference
// must be within max_skew of zero (the bench and the herd share a clock).
ReplyVerdict CheckIamatReply(std::string_view line, std::string_view client_id,
                             std::string_view coordinates,
                             std::string_view client_time,
                             absl::Duration max_skew);

// The server name of a well-formed AT line, or empty.
std::string_view AtLineServer(std::string_view at_line);

// A WHATSAT reply: its first line (without '\n') and the JSON lines that
// followed up to, not including, the blank line that ends it. The AT line
// must equal expected_at_line byte for byte; the JSON must be an object with
// a "results" array of at most max_results entries and a "status" string.
ReplyVerdict CheckWhatsatReply(std::string_view at_line, std::string_view json,
                               std::string_view expected_at_line,
                               int max_results);

}  // namespace herd::bench

#endif  // HERD_BENCH_HERD_BENCH_REPLY_CHECK_H_
