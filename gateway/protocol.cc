#include "gateway/protocol.h"

#include <array>
#include <charconv>
#include <iterator>
#include <system_error>

#include "absl/status/status.h"
#include "common/location_text.h"
#include "common/whatsat_limits.h"
#include "fmt/compile.h"
#include "fmt/format.h"
#include "gateway/places_json.h"
#include "gateway/utf8.h"

namespace herd::gateway {
namespace {

bool IsFieldSeparator(char c) { return c == ' ' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
// The status message as a std::string (Debian's absl::string_view is not
// std::string_view).
std::string MessageOf(const absl::Status& status) {
  return {status.message().data(), status.message().size()};
}

// The first few fields of a line and how many it has in all: no command
// has more than kMax, so parsing needs no allocation.
class FirstFields {
 public:
  static constexpr size_t kMax = 6;

  void Add(std::string_view field) {
    if (count_ < kMax) fields_[count_] = field;
    ++count_;
  }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Only for i < min(size(), kMax).
  std::string_view operator[](size_t i) const { return fields_[i]; }

 private:
  std::array<std::string_view, kMax> fields_;
  size_t count_ = 0;
};

// Calls add(field) for each field of line, in order (see SplitFields).
template <typename Add>
void ForEachField(std::string_view line, Add add) {
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && IsFieldSeparator(line[pos])) ++pos;
    const size_t start = pos;
    while (pos < line.size() && !IsFieldSeparator(line[pos])) ++pos;
    if (pos > start) add(line.substr(start, pos - start));
  }
}

// "AT <origin> <difference> <client id> <coordinates> <client time>".
void AppendAtLine(const v1::Location& location, fmt::memory_buffer& out) {
  fmt::format_to(
      std::back_inserter(out), FMT_COMPILE("AT {} {} {} {} {}"),
      location.origin_server(),
      FormatTimeDifference(location.server_time(), location.client_time()),
      location.client_id(), location.coordinates_text(),
      location.client_time_text());
}

bool AllDigits(std::string_view text) {
  for (char c : text) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

Command ParseIamat(const FirstFields& fields) {
  if (fields.size() != 4) {
    return InvalidCommand{fmt::format(
        "IAMAT takes 3 fields (client id, coordinates, time), got {}",
        fields.size() - 1)};
  }
  if (auto coordinates = ParseCoordinates(fields[2]); !coordinates.ok()) {
    return InvalidCommand{MessageOf(coordinates.status())};
  }
  if (auto time = ParseClientTime(fields[3]); !time.ok()) {
    return InvalidCommand{MessageOf(time.status())};
  }
  return IamatCommand{std::string(fields[1]), std::string(fields[2]),
                      std::string(fields[3])};
}

Command ParseWhatsat(const FirstFields& fields) {
  if (fields.size() != 4) {
    return InvalidCommand{
        fmt::format("WHATSAT takes 3 fields (client id, radius, bound), got {}",
                    fields.size() - 1)};
  }
  WhatsatCommand command;
  command.client_id = std::string(fields[1]);
  if (!ParseRadiusKm(fields[2], command.radius_km)) {
    return InvalidCommand{fmt::format(
        "radius '{}' is not a decimal number of km with 0 < r <= {}", fields[2],
        kWhatsatMaxRadiusKm)};
  }
  if (!ParseMaxResults(fields[3], command.max_results)) {
    return InvalidCommand{
        fmt::format("bound '{}' is not an integer n with 0 < n <= {}",
                    fields[3], kWhatsatMaxResults)};
  }
  return command;
}

Command ParseAt(const FirstFields& fields) {
  if (fields.size() != 6) {
    return InvalidCommand{fmt::format(
        "AT takes 5 fields (server, time difference, client id, coordinates, "
        "time), got {}",
        fields.size() - 1)};
  }
  auto difference = ParseTimeDifference(fields[2]);
  if (!difference.ok()) {
    return InvalidCommand{MessageOf(difference.status())};
  }
  auto coordinates = ParseCoordinates(fields[4]);
  if (!coordinates.ok()) {
    return InvalidCommand{MessageOf(coordinates.status())};
  }
  auto client_time = ParseClientTime(fields[5]);
  if (!client_time.ok()) {
    return InvalidCommand{MessageOf(client_time.status())};
  }
  AtCommand command;
  v1::Location& location = command.location;
  location.set_origin_server(std::string(fields[1]));
  location.set_client_id(std::string(fields[3]));
  location.set_latitude(coordinates->latitude);
  location.set_longitude(coordinates->longitude);
  location.set_coordinates_text(std::string(fields[4]));
  location.set_client_time_text(std::string(fields[5]));
  *location.mutable_client_time() = *client_time;
  *location.mutable_server_time() = AddDuration(*client_time, *difference);
  return command;
}

}  // namespace

std::string_view StripLineTerminator(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  ForEachField(line,
               [&fields](std::string_view field) { fields.push_back(field); });
  return fields;
}

Command ParseCommand(std::string_view line) {
  FirstFields fields;
  ForEachField(StripLineTerminator(line),
               [&fields](std::string_view field) { fields.Add(field); });
  if (fields.empty()) return InvalidCommand{"empty line"};
  if (!IsValidUtf8(line)) return InvalidCommand{"line is not valid UTF-8"};
  if (fields[0] == "IAMAT") return ParseIamat(fields);
  if (fields[0] == "WHATSAT") return ParseWhatsat(fields);
  if (fields[0] == "AT") return ParseAt(fields);
  return InvalidCommand{fmt::format("unknown command '{}'", fields[0])};
}

bool ParseRadiusKm(std::string_view text, double& radius_km) {
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (!AllDigits(whole) || !AllDigits(fraction) ||
      (whole.empty() && fraction.empty())) {
    return false;
  }
  // Decide the range on the digits themselves, so a value like
  // 50.0000000000000000001 (which rounds to 50.0 as a double) is still
  // rejected.
  const size_t first_significant = whole.find_first_not_of('0');
  const std::string_view significant_whole =
      first_significant == std::string_view::npos
          ? std::string_view()
          : whole.substr(first_significant);
  const bool fraction_is_zero =
      fraction.find_first_not_of('0') == std::string_view::npos;
  if (significant_whole.size() > 2) return false;
  int whole_value = 0;
  for (char c : significant_whole) whole_value = whole_value * 10 + (c - '0');
  if (whole_value > kWhatsatMaxRadiusKm) return false;
  if (whole_value == kWhatsatMaxRadiusKm && !fraction_is_zero) return false;
  if (whole_value == 0 && fraction_is_zero) return false;

  const std::string normalized = fmt::format(
      "{}.{}", whole.empty() ? "0" : whole, fraction.empty() ? "0" : fraction);
  double value = 0;
  const auto [end, error] = std::from_chars(
      normalized.data(), normalized.data() + normalized.size(), value);
  if (error != std::errc{} || end != normalized.data() + normalized.size()) {
    return false;
  }
  radius_km = value;
  return true;
}

bool ParseMaxResults(std::string_view text, uint32_t& max_results) {
  if (text.empty() || !AllDigits(text)) return false;
  uint32_t value = 0;
  const auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return false;
  if (value == 0 || value > kWhatsatMaxResults) return false;
  max_results = value;
  return true;
}

std::string FormatAtLine(const v1::Location& location) {
  fmt::memory_buffer line;
  AppendAtLine(location, line);
  return fmt::to_string(line);
}

std::string FormatAtReply(const v1::Location& location) {
  // Every IAMAT's reply: one allocation, the format parsed at compile time.
  fmt::memory_buffer reply;
  AppendAtLine(location, reply);
  reply.push_back('\n');
  return fmt::to_string(reply);
}

std::string FormatErrorReply(std::string_view line) {
  return fmt::format("? {}\n", StripLineTerminator(line));
}

std::string FormatPlacesJson(
    const google::protobuf::RepeatedPtrField<v1::Place>& places) {
  std::string json;
  json.reserve(PlacesJsonSizeHint(places));
  AppendPlacesJson(places, json);
  return json;
}

std::string FormatWhatsatReply(
    const v1::Location& location,
    const google::protobuf::RepeatedPtrField<v1::Place>& places) {
  fmt::memory_buffer at_line;
  AppendAtLine(location, at_line);
  std::string reply;
  reply.reserve(at_line.size() + 3 + PlacesJsonSizeHint(places));
  reply.append(at_line.data(), at_line.size());
  reply += '\n';
  AppendPlacesJson(places, reply);
  reply += "\n\n";
  return reply;
}

}  // namespace herd::gateway
