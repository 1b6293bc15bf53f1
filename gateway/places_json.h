// The places of a WHATSAT reply as JSON shaped like Google Places Nearby
// Search's answer, written straight into the reply: no document tree, one
// buffer reserved once. The layout is the one the herd always sent
// (nlohmann::json's dump with an indent of 3: keys sorted, "[]" for an empty
// array, ".0" on whole numbers), so no blank line can occur inside it.
// Numbers get the fewest digits that read back exactly (std::to_chars);
// nlohmann's Grisu2 at times wrote more (-25.500610000000002 for -25.50061).
#ifndef HERD_GATEWAY_PLACES_JSON_H_
#define HERD_GATEWAY_PLACES_JSON_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "google/protobuf/repeated_ptr_field.h"
#include "herd/v1/herd.pb.h"

namespace herd::gateway {

// Appends the document for places: status "ZERO_RESULTS" when there are
// none, as Google says it, else "OK". No trailing newline.
void AppendPlacesJson(
    const google::protobuf::RepeatedPtrField<v1::Place>& places,
    std::string& out);

// About how many bytes AppendPlacesJson appends (at least as many unless a
// text needs escaping), so that a reply can reserve once.
size_t PlacesJsonSizeHint(
    const google::protobuf::RepeatedPtrField<v1::Place>& places);

// A JSON string literal for text, quoted and escaped: the two-character
// escapes for '"', '\\', '\b', '\f', '\n', '\r', '\t', "\u00xx" for other
// control characters, everything else as it is. Invalid UTF-8 (a provider's
// odd place name) becomes U+FFFD rather than an error, so one odd place never
// breaks a reply.
void AppendJsonString(std::string_view text, std::string& out);

// A JSON number for value: the shortest digits that read back as value,
// in fixed notation (with ".0" when whole) while the decimal point falls
// within 15 digits left of the first digit and 4 zeros right of it, else as
// d.ddde+XX; "null" for NaN and infinities, which JSON cannot say.
void AppendJsonNumber(double value, std::string& out);

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_PLACES_JSON_H_
