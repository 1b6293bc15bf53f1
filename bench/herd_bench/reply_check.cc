#include "bench/herd_bench/reply_check.h"

#include <array>
#include <cstdlib>

#include "common/location_text.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace herd::bench {
namespace {

constexpr size_t kAtFields = 6;

// Splits on single spaces: replies are ours to check, so any other spacing
// is a formatting error worth reporting.
bool SplitAtLine(std::string_view line,
                 std::array<std::string_view, kAtFields>& fields) {
  size_t start = 0;
  for (size_t i = 0; i < kAtFields; ++i) {
    const size_t end = i + 1 == kAtFields ? line.size() : line.find(' ', start);
    if (end == std::string_view::npos || end == start) return false;
    fields[i] = line.substr(start, end - start);
    start = end + 1;
  }
  return fields[kAtFields - 1].find(' ') == std::string_view::npos;
}

ReplyVerdict Wrong(ReplyError error, std::string detail) {
  return ReplyVerdict{error, std::move(detail)};
}

ReplyVerdict QuestionMarkOrMalformed(std::string_view line,
                                     std::string_view what) {
  if (line.starts_with("? ")) {
    return Wrong(ReplyError::kQuestionMark,
                 fmt::format("{} answered '{}'", what, line));
  }
  return Wrong(ReplyError::kMalformed,
               fmt::format("{} reply is not an AT line: '{}'", what, line));
}

}  // namespace

const char* ReplyErrorName(ReplyError error) {
  switch (error) {
    case ReplyError::kNone:
      return "none";
    case ReplyError::kQuestionMark:
      return "question_mark";
    case ReplyError::kMalformed:
      return "malformed";
    case ReplyError::kMismatch:
      return "mismatch";
  }
  return "unknown";
}

std::string_view AtLineServer(std::string_view at_line) {
  std::array<std::string_view, kAtFields> fields;
  if (!SplitAtLine(at_line, fields) || fields[0] != "AT") return {};
  return fields[1];
}

ReplyVerdict CheckIamatReply(std::string_view line, std::string_view client_id,
                             std::string_view coordinates,
                             std::string_view client_time,
                             absl::Duration max_skew) {
  std::array<std::string_view, kAtFields> fields;
  if (!SplitAtLine(line, fields) || fields[0] != "AT") {
    return QuestionMarkOrMalformed(line, "IAMAT");
  }
  const auto difference = ParseTimeDifference(fields[2]);
  if (!difference.ok()) {
    return Wrong(
        ReplyError::kMalformed,
        fmt::format("IAMAT reply has a bad time difference '{}': {}", fields[2],
                    static_cast<std::string>(difference.status().message())));
  }
  if (fields[3] != client_id || fields[4] != coordinates ||
      fields[5] != client_time) {
    return Wrong(ReplyError::kMismatch,
                 fmt::format("IAMAT reply '{}' does not echo '{} {} {}'", line,
                             client_id, coordinates, client_time));
  }
  const absl::Duration skew = absl::Seconds(difference->seconds()) +
                              absl::Nanoseconds(difference->nanos());
  if (absl::AbsDuration(skew) > max_skew) {
    return Wrong(ReplyError::kMismatch,
                 fmt::format("IAMAT reply's time difference {} is further "
                             "from zero than {} on a shared clock",
                             fields[2], absl::FormatDuration(max_skew)));
  }
  return {};
}

ReplyVerdict CheckWhatsatReply(std::string_view at_line, std::string_view json,
                               std::string_view expected_at_line,
                               int max_results) {
  std::array<std::string_view, kAtFields> fields;
  if (!SplitAtLine(at_line, fields) || fields[0] != "AT") {
    return QuestionMarkOrMalformed(at_line, "WHATSAT");
  }
  if (at_line != expected_at_line) {
    return Wrong(ReplyError::kMismatch,
                 fmt::format("WHATSAT gave '{}', but the client's latest "
                             "report was answered with '{}'",
                             at_line, expected_at_line));
  }
  const auto document = nlohmann::json::parse(json, nullptr,
                                              /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return Wrong(ReplyError::kMalformed,
                 fmt::format("WHATSAT JSON does not parse as an object: '{}'",
                             json.substr(0, 200)));
  }
  const auto results = document.find("results");
  const auto status = document.find("status");
  if (results == document.end() || !results->is_array() ||
      status == document.end() || !status->is_string()) {
    return Wrong(ReplyError::kMalformed,
                 "WHATSAT JSON lacks a 'results' array or a 'status' string");
  }
  if (results->size() > static_cast<size_t>(max_results)) {
    return Wrong(ReplyError::kMismatch,
                 fmt::format("WHATSAT asked for at most {} places, got {}",
                             max_results, results->size()));
  }
  ReplyVerdict verdict;
  verdict.places = results->size();
  return verdict;
}

}  // namespace herd::bench
