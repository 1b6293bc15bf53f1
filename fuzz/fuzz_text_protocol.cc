// libFuzzer target: the gateway's text protocol on arbitrary bytes. Beyond
// "no crash" (ASan/UBSan catch that), it checks the rules every reply relies
// on: the error reply echoes the line exactly, a parsed command is within its
// documented ranges, an AT line survives print-then-parse unchanged, and a
// WHATSAT reply's JSON holds any place text without a blank line.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>

#include "gateway/protocol.h"
#include "gateway/utf8.h"
#include "google/protobuf/util/message_differencer.h"
#include "nlohmann/json.hpp"

namespace {

using herd::gateway::AtCommand;
using herd::gateway::Command;
using herd::gateway::IamatCommand;
using herd::gateway::WhatsatCommand;

// A broken property is a finding: say which and stop, so libFuzzer keeps the
// input as a crash reproducer.
void Require(bool holds, const char* property) {
  if (holds) return;
  std::fprintf(stderr, "property violated: %s\n", property);
  std::abort();
}

bool IsSeparator(char c) { return c == ' ' || c == '\t'; }

bool IsField(std::string_view field) {
  if (field.empty()) return false;
  for (char c : field) {
    if (IsSeparator(c)) return false;
  }
  return true;
}

void CheckFraming(std::string_view line) {
  const std::string_view stripped = herd::gateway::StripLineTerminator(line);
  Require(line.substr(0, stripped.size()) == stripped,
          "StripLineTerminator returns a prefix of the line");
  Require(line.size() - stripped.size() <= 2,
          "StripLineTerminator removes at most \\r\\n");
  Require(herd::gateway::FormatErrorReply(line) ==
              "? " + std::string(stripped) + "\n",
          "the error reply is \"? \" + the line as received + \"\\n\"");
  for (std::string_view field : herd::gateway::SplitFields(stripped)) {
    Require(IsField(field), "fields are non-empty and hold no space or tab");
  }
}

void CheckCommand(const Command& command) {
  if (const auto* iamat = std::get_if<IamatCommand>(&command)) {
    Require(IsField(iamat->client_id) && IsField(iamat->coordinates_text) &&
                IsField(iamat->client_time_text),
            "IAMAT keeps three whole fields");
  } else if (const auto* whatsat = std::get_if<WhatsatCommand>(&command)) {
    Require(IsField(whatsat->client_id), "WHATSAT keeps a whole client id");
    Require(whatsat->radius_km > 0 && whatsat->radius_km <= 50,
            "WHATSAT radius within (0, 50]");
    Require(whatsat->max_results > 0 && whatsat->max_results <= 20,
            "WHATSAT bound within (0, 20]");
  } else if (const auto* at = std::get_if<AtCommand>(&command)) {
    // The AT line a server prints for this location must read back as the
    // same location: peers and WHATSAT replies depend on it.
    const std::string printed = herd::gateway::FormatAtLine(at->location);
    const Command again = herd::gateway::ParseCommand(printed);
    const auto* reparsed = std::get_if<AtCommand>(&again);
    Require(reparsed != nullptr, "a printed AT line parses as AT");
    Require(google::protobuf::util::MessageDifferencer::Equals(
                reparsed->location, at->location),
            "an AT line survives print-then-parse");
  }
}

void CheckNumberFields(std::string_view text) {
  double radius_km = 0;
  if (herd::gateway::ParseRadiusKm(text, radius_km)) {
    Require(radius_km > 0 && radius_km <= 50, "ParseRadiusKm within (0, 50]");
  }
  uint32_t max_results = 0;
  if (herd::gateway::ParseMaxResults(text, max_results)) {
    Require(max_results > 0 && max_results <= 20,
            "ParseMaxResults within (0, 20]");
  }
}

// A WHATSAT reply whose place holds the bytes as every text (a provider's
// names are anyone's) and, as its latitude, the double their first 8 bytes
// spell: one blank line, the reply's last; JSON that reads back the texts
// (when UTF-8; else replaced, still JSON) and the number exactly.
void CheckWhatsatReply(std::string_view text) {
  herd::v1::Place place;
  place.set_name(std::string(text));
  place.set_place_id(std::string(text));
  place.set_vicinity(std::string(text));
  place.add_types(std::string(text));
  double latitude = 0;
  std::memcpy(&latitude, text.data(), std::min(text.size(), sizeof latitude));
  place.set_latitude(latitude);
  google::protobuf::RepeatedPtrField<herd::v1::Place> places;
  *places.Add() = place;
  const std::string reply = herd::gateway::FormatWhatsatReply({}, places);
  Require(reply.size() >= 2 && reply.find("\n\n") == reply.size() - 2,
          "a WHATSAT reply's only blank line is its end");
  const size_t json_start = reply.find('\n') + 1;
  const auto json = nlohmann::json::parse(
      reply.begin() + static_cast<std::ptrdiff_t>(json_start), reply.end() - 2,
      nullptr, /*allow_exceptions=*/false);
  Require(!json.is_discarded(), "a WHATSAT reply's JSON parses");
  const auto& result = json.at("results").at(0);
  if (herd::gateway::IsValidUtf8(text)) {
    Require(result.at("name") == text && result.at("types").at(0) == text,
            "a WHATSAT reply's texts read back");
  }
  const auto& lat = result.at("geometry").at("location").at("lat");
  Require(std::isfinite(latitude) ? lat == latitude : lat.is_null(),
          "a WHATSAT reply's numbers read back exactly");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  CheckFraming(line);
  CheckCommand(herd::gateway::ParseCommand(line));
  CheckNumberFields(line);
  CheckWhatsatReply(line);
  return 0;
}
