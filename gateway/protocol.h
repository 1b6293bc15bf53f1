// The herd's text protocol (docs/PROTOCOL.md) as pure functions:
// lines to commands, and locations/places to reply text. No I/O here, so every
// rule can be unit-tested byte for byte.
#ifndef HERD_GATEWAY_PROTOCOL_H_
#define HERD_GATEWAY_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "google/protobuf/repeated_ptr_field.h"
#include "herd/v1/herd.pb.h"

namespace herd::gateway {

// IAMAT <client id> <coordinates> <client time>: the text fields, validated
// but kept exactly as the client sent them (the AT reply copies them).
struct IamatCommand {
  std::string client_id;
  std::string coordinates_text;
  std::string client_time_text;
};

// WHATSAT <client id> <radius km> <max results>.
struct WhatsatCommand {
  std::string client_id;
  double radius_km = 0;      // 0 < radius_km <= 50
  uint32_t max_results = 0;  // 0 < max_results <= 20
};

// AT <server> <time difference> <client id> <coordinates> <client time>,
// already turned into the Location it describes: origin_server is the AT's
// server field and server_time = client_time + time difference.
struct AtCommand {
  v1::Location location;
};

// Anything else. reason says what was wrong (for the log, never the wire:
// the wire reply is always "? " + the line).
struct InvalidCommand {
  std::string reason;
};

using Command =
    std::variant<InvalidCommand, IamatCommand, WhatsatCommand, AtCommand>;

// Removes the line terminator: one trailing "\n", then one trailing "\r".
std::string_view StripLineTerminator(std::string_view line);

// Splits a line into fields separated by runs of spaces and tabs; leading and
// trailing spaces/tabs produce no empty fields.
std::vector<std::string_view> SplitFields(std::string_view line);

// Parses one line (with or without its "\r\n"/"\n" terminator).
Command ParseCommand(std::string_view line);

// Parses WHATSAT's radius: plain decimal kilometres ("10", "2.5", ".5"),
// exactly checked against 0 < r <= 50. No sign, exponent, inf or nan.
bool ParseRadiusKm(std::string_view text, double& radius_km);

// Parses WHATSAT's bound: decimal digits only, 0 < n <= 20.
bool ParseMaxResults(std::string_view text, uint32_t& max_results);

// "AT <origin> <difference> <client id> <coordinates> <client time>", without
// a line terminator.
std::string FormatAtLine(const v1::Location& location);

// The IAMAT reply: the AT line and "\n".
std::string FormatAtReply(const v1::Location& location);

// The error reply: "? " + the line as received, without its terminator, and
// "\n".
std::string FormatErrorReply(std::string_view line);

// The Google Places Nearby Search shaped JSON document for places, pretty
// printed with an indent of 3 spaces (what the classic herd relayed from
// Google, and readable in a telnet session; see gateway/places_json.h).
// Status "ZERO_RESULTS" when places is empty, as Google does.
std::string FormatPlacesJson(
    const google::protobuf::RepeatedPtrField<v1::Place>& places);

// The WHATSAT reply: AT line, "\n", the places JSON (which has no blank
// line: text newlines are escaped), "\n\n".
std::string FormatWhatsatReply(
    const v1::Location& location,
    const google::protobuf::RepeatedPtrField<v1::Place>& places);

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_PROTOCOL_H_
