#include "gateway/places_json.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

#include "gateway/utf8.h"
#include "nlohmann/json.hpp"

namespace herd::gateway {
namespace {

// Where fixed notation stops (nlohmann::json's and so the herd's replies
// since the start; Python's repr differs only past 1e15).
constexpr int kMaxFixedExponent = 15;
constexpr int kMinFixedExponent = -4;

// What a place costs besides its texts, and each of its types, in the layout
// below; the document's own lines.
constexpr size_t kPlaceOverhead = 280;
constexpr size_t kTypeOverhead = 16;
constexpr size_t kDocumentOverhead = 80;

// The two-character escape of c, or '\0' when c has none.
char ShortEscape(char c) {
  switch (c) {
    case '"':
      return '"';
    case '\\':
      return '\\';
    case '\b':
      return 'b';
    case '\f':
      return 'f';
    case '\n':
      return 'n';
    case '\r':
      return 'r';
    case '\t':
      return 't';
    default:
      return '\0';
  }
}

bool NeedsEscape(char c) {
  return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
}

void AppendStringArray(
    const google::protobuf::RepeatedPtrField<std::string>& texts,
    std::string& out) {
  if (texts.empty()) {
    out += "[]";
    return;
  }
  out += "[\n";
  for (int i = 0; i < texts.size(); ++i) {
    out += "            ";
    AppendJsonString(texts.Get(i), out);
    out += i + 1 < texts.size() ? ",\n" : "\n";
  }
  out += "         ]";
}

// A place's "geometry" object, at the fourth level of the document.
void AppendGeometry(const v1::Place& place, std::string& out) {
  out += "{\n            \"location\": {\n               \"lat\": ";
  AppendJsonNumber(place.latitude(), out);
  out += ",\n               \"lng\": ";
  AppendJsonNumber(place.longitude(), out);
  out += "\n            }\n         }";
}

// One element of "results", at the third level of the document.
void AppendPlace(const v1::Place& place, std::string& out) {
  out += "      {\n         \"geometry\": ";
  AppendGeometry(place, out);
  out += ",\n         \"name\": ";
  AppendJsonString(place.name(), out);
  out += ",\n         \"place_id\": ";
  AppendJsonString(place.place_id(), out);
  out += ",\n         \"types\": ";
  AppendStringArray(place.types(), out);
  out += ",\n         \"vicinity\": ";
  AppendJsonString(place.vicinity(), out);
  out += "\n      }";
}

}  // namespace

void AppendJsonString(std::string_view text, std::string& out) {
  if (!IsValidUtf8(text)) {
    // Rare, so the library's replacement rules (which bytes one U+FFFD
    // stands for) are kept rather than written again.
    out += nlohmann::json(std::string(text))
               .dump(-1, ' ', /*ensure_ascii=*/false,
                     nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  size_t run_start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!NeedsEscape(c)) continue;
    out.append(text, run_start, i - run_start);
    run_start = i + 1;
    out += '\\';
    if (const char escape = ShortEscape(c); escape != '\0') {
      out += escape;
    } else {
      constexpr std::string_view kHex = "0123456789abcdef";
      const auto byte = static_cast<unsigned char>(c);
      out += "u00";
      out += kHex[byte >> 4U];
      out += kHex[byte & 0xfU];
    }
  }
  out.append(text, run_start, text.size() - run_start);
  out += '"';
}

void AppendJsonNumber(double value, std::string& out) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  // The shortest round-trip digits, as d.ddde±XX.
  std::array<char, 32> buffer{};
  const auto [end, error] =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                    std::chars_format::scientific);
  std::string_view text(buffer.data(),
                        error == std::errc{} ? end - buffer.data() : 0);
  if (!text.empty() && text.front() == '-') {
    out += '-';
    text.remove_prefix(1);
  }
  const size_t e = text.find('e');
  if (e == std::string_view::npos || e == 0) {  // cannot happen; stay JSON
    out += "null";
    return;
  }
  std::array<char, 24> digit_buffer{};
  size_t count = 0;
  for (char c : text.substr(0, e)) {
    if (c != '.') digit_buffer[count++] = c;
  }
  const std::string_view digits(digit_buffer.data(), count);
  const int exponent = std::atoi(text.data() + e + 1);
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;  // digits before the decimal point
  if (k <= n && n <= kMaxFixedExponent) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
    out += ".0";
  } else if (0 < n && n <= kMaxFixedExponent) {
    out += digits.substr(0, static_cast<size_t>(n));
    out += '.';
    out += digits.substr(static_cast<size_t>(n));
  } else if (kMinFixedExponent < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out += digits.front();
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += exponent < 0 ? "e-" : "e+";
    const int magnitude = std::abs(exponent);
    if (magnitude < 10) out += '0';
    std::array<char, 8> exponent_text{};
    const auto [exponent_end, exponent_error] =
        std::to_chars(exponent_text.data(),
                      exponent_text.data() + exponent_text.size(), magnitude);
    out.append(exponent_text.data(), exponent_end);
  }
}

size_t PlacesJsonSizeHint(
    const google::protobuf::RepeatedPtrField<v1::Place>& places) {
  size_t size = kDocumentOverhead;
  for (const v1::Place& place : places) {
    size += kPlaceOverhead + place.name().size() + place.place_id().size() +
            place.vicinity().size();
    for (const std::string& type : place.types()) {
      size += kTypeOverhead + type.size();
    }
  }
  return size;
}

void AppendPlacesJson(
    const google::protobuf::RepeatedPtrField<v1::Place>& places,
    std::string& out) {
  out += "{\n   \"html_attributions\": [],\n   \"results\": ";
  if (places.empty()) {
    out += "[]";
  } else {
    out += "[\n";
    for (int i = 0; i < places.size(); ++i) {
      AppendPlace(places.Get(i), out);
      out += i + 1 < places.size() ? ",\n" : "\n";
    }
    out += "   ]";
  }
  out += ",\n   \"status\": ";
  out += places.empty() ? "\"ZERO_RESULTS\"" : "\"OK\"";
  out += "\n}";
}

}  // namespace herd::gateway
