// UTF-8 well-formedness, for the text protocol's lines and the JSON it
// writes.
#ifndef HERD_GATEWAY_UTF8_H_
#define HERD_GATEWAY_UTF8_H_

#include <string_view>

namespace herd::gateway {

// Well-formed UTF-8 (no overlong forms, no surrogates, nothing past
// U+10FFFF). Client ids and server names become protobuf strings, which must
// be UTF-8; everything else in a valid line is ASCII anyway.
bool IsValidUtf8(std::string_view text);

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_UTF8_H_
