#include "herdnode/store/compact_location.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

namespace herd {
namespace {

// The fixed part of a record, at these offsets (memcpy'd, so the block needs
// no particular alignment and no type punning):
constexpr size_t kSeq = 0;             // uint64_t
constexpr size_t kClientSeconds = 8;   // int64_t
constexpr size_t kServerSeconds = 16;  // int64_t
constexpr size_t kLatitude = 24;       // double
constexpr size_t kLongitude = 32;      // double
constexpr size_t kClientNanos = 40;    // int32_t
constexpr size_t kServerNanos = 44;    // int32_t
constexpr size_t kServer = 48;         // uint16_t: index or kInlineServer
constexpr size_t kFlags = 50;          // uint8_t: which texts are packed
constexpr size_t kFixedSize = 51;
// Then varint lengths in characters (client ID, coordinates text, time text,
// and the server name when inline), then those texts in that order.

constexpr uint8_t kCoordinatesPacked = 1;
constexpr uint8_t kTimePacked = 2;
// Whether the message had its Instants set at all, so a decoded location
// equals the stored one field for field, presence included.
constexpr uint8_t kHasClientTime = 4;
constexpr uint8_t kHasServerTime = 8;

template <typename T>
T Load(const std::byte* data, size_t offset) {
  T value;
  std::memcpy(&value, data + offset, sizeof value);
  return value;
}

template <typename T>
void Store(std::byte* data, size_t offset, T value) {
  std::memcpy(data + offset, &value, sizeof value);
}

// ---- lengths: LEB128 varints (one byte below 128) ----

size_t VarintSize(size_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

std::byte* PutVarint(size_t value, std::byte* out) {
  while (value >= 0x80) {
    *out++ = static_cast<std::byte>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  *out++ = static_cast<std::byte>(value);
  return out;
}

const std::byte* GetVarint(const std::byte* in, size_t& value) {
  value = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = std::to_integer<size_t>(*in++);
    value |= (byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return in;
  }
}

// ---- texts of digits, signs and points at two characters per byte ----
// Coordinates and time stamps ("+34.068930-118.445127", "1621464827.9594")
// use 13 distinct characters, so each fits a nibble; any other text is kept
// byte for byte.

constexpr std::string_view kNibbleChars = "0123456789+-.";
constexpr uint8_t kNoNibble = 0xFF;

uint8_t NibbleOf(char c) {
  if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
  if (c == '+') return 10;
  if (c == '-') return 11;
  if (c == '.') return 12;
  return kNoNibble;
}

bool Packable(std::string_view text) {
  for (char c : text) {
    if (NibbleOf(c) == kNoNibble) return false;
  }
  return true;
}

size_t StoredSize(size_t chars, bool packed) {
  return packed ? (chars + 1) / 2 : chars;
}

std::byte* PutText(std::string_view text, bool packed, std::byte* out) {
  if (!packed) {
    std::memcpy(out, text.data(), text.size());
    return out + text.size();
  }
  for (size_t i = 0; i < text.size(); i += 2) {
    const uint8_t high = NibbleOf(text[i]);
    const uint8_t low = i + 1 < text.size() ? NibbleOf(text[i + 1]) : 0;
    *out++ = static_cast<std::byte>((high << 4) | low);
  }
  return out;
}

const std::byte* GetText(const std::byte* in, size_t chars, bool packed,
                         std::string& text) {
  if (!packed) {
    text.assign(reinterpret_cast<const char*>(in), chars);
    return in + chars;
  }
  // Two characters per byte, from a table: Sync pages and snapshots decode
  // every record they hand out.
  static constexpr auto kPairs = [] {
    std::array<std::array<char, 2>, 256> pairs{};
    for (size_t byte = 0; byte < pairs.size(); ++byte) {
      // 13-15 never occur: PutText writes only kNibbleChars and a 0 pad.
      pairs[byte] = {kNibbleChars[std::min<size_t>(byte >> 4, 12)],
                     kNibbleChars[std::min<size_t>(byte & 0x0F, 12)]};
    }
    return pairs;
  }();
  text.resize(chars);
  for (size_t i = 0; i < chars; i += 2) {
    const auto& pair = kPairs[std::to_integer<uint8_t>(in[i / 2])];
    text[i] = pair[0];
    if (i + 1 < chars) text[i + 1] = pair[1];
  }
  return in + StoredSize(chars, true);
}

// The variable part's layout, read from a record.
struct Lengths {
  uint8_t flags = 0;
  bool inline_server = false;
  size_t client_id = 0;
  size_t coordinates = 0;  // characters
  size_t time = 0;         // characters
  size_t server = 0;       // characters; 0 unless inline
  const std::byte* texts = nullptr;

  size_t TextBytes() const {
    return client_id +
           StoredSize(coordinates, (flags & kCoordinatesPacked) != 0) +
           StoredSize(time, (flags & kTimePacked) != 0) + server;
  }
};

Lengths ReadLengths(const std::byte* data) {
  Lengths lengths;
  lengths.flags = Load<uint8_t>(data, kFlags);
  lengths.inline_server =
      Load<uint16_t>(data, kServer) == CompactLocation::kInlineServer;
  const std::byte* in = data + kFixedSize;
  in = GetVarint(in, lengths.client_id);
  in = GetVarint(in, lengths.coordinates);
  in = GetVarint(in, lengths.time);
  if (lengths.inline_server) in = GetVarint(in, lengths.server);
  lengths.texts = in;
  return lengths;
}

size_t SizeOf(const std::byte* data) {
  const Lengths lengths = ReadLengths(data);
  return static_cast<size_t>(lengths.texts - data) + lengths.TextBytes();
}

size_t EncodedSize(const v1::Location& location, bool inline_server) {
  const std::string& coordinates = location.coordinates_text();
  const std::string& time = location.client_time_text();
  size_t size = kFixedSize + VarintSize(location.client_id().size()) +
                VarintSize(coordinates.size()) + VarintSize(time.size()) +
                location.client_id().size() +
                StoredSize(coordinates.size(), Packable(coordinates)) +
                StoredSize(time.size(), Packable(time));
  if (inline_server) {
    size += VarintSize(location.origin_server().size()) +
            location.origin_server().size();
  }
  return size;
}

}  // namespace

CompactLocation::CompactLocation(const v1::Location& location, uint64_t seq,
                                 uint16_t server_index)
    : block_(std::make_unique_for_overwrite<std::byte[]>(
          BlockSize(EncodedSize(location, server_index == kInlineServer)))) {
  Write(location, seq, server_index);
}

void CompactLocation::Replace(const v1::Location& location, uint64_t seq,
                              uint16_t server_index) {
  const size_t needed = EncodedSize(location, server_index == kInlineServer);
  if (needed > BlockSize(SizeOf(block_.get()))) {
    block_ = std::make_unique_for_overwrite<std::byte[]>(BlockSize(needed));
  }
  Write(location, seq, server_index);
}

size_t CompactLocation::BlockSize(size_t size) {
  // glibc's malloc hands out chunks of 16-byte multiples with 8 bytes of
  // its own, so 8 below the next multiple of 16 costs nothing extra.
  return (size + 8 + 15) / 16 * 16 - 8;
}

void CompactLocation::Write(const v1::Location& location, uint64_t seq,
                            uint16_t server_index) {
  std::byte* data = block_.get();
  const std::string& coordinates = location.coordinates_text();
  const std::string& time = location.client_time_text();
  const bool coordinates_packed = Packable(coordinates);
  const bool time_packed = Packable(time);
  Store<uint64_t>(data, kSeq, seq);
  Store<int64_t>(data, kClientSeconds, location.client_time().seconds());
  Store<int64_t>(data, kServerSeconds, location.server_time().seconds());
  Store<double>(data, kLatitude, location.latitude());
  Store<double>(data, kLongitude, location.longitude());
  Store<int32_t>(data, kClientNanos, location.client_time().nanos());
  Store<int32_t>(data, kServerNanos, location.server_time().nanos());
  Store<uint16_t>(data, kServer, server_index);
  uint8_t flags = 0;
  if (coordinates_packed) flags |= kCoordinatesPacked;
  if (time_packed) flags |= kTimePacked;
  if (location.has_client_time()) flags |= kHasClientTime;
  if (location.has_server_time()) flags |= kHasServerTime;
  Store<uint8_t>(data, kFlags, flags);
  std::byte* out = data + kFixedSize;
  out = PutVarint(location.client_id().size(), out);
  out = PutVarint(coordinates.size(), out);
  out = PutVarint(time.size(), out);
  const bool inline_server = server_index == kInlineServer;
  if (inline_server) out = PutVarint(location.origin_server().size(), out);
  out = PutText(location.client_id(), false, out);
  out = PutText(coordinates, coordinates_packed, out);
  out = PutText(time, time_packed, out);
  if (inline_server) PutText(location.origin_server(), false, out);
}

std::strong_ordering CompactLocation::CompareClientTime(
    const v1::Instant& instant) const {
  if (auto order = Load<int64_t>(data(), kClientSeconds) <=> instant.seconds();
      std::is_neq(order)) {
    return order;
  }
  return Load<int32_t>(data(), kClientNanos) <=> instant.nanos();
}

uint64_t CompactLocation::SeqOf(const std::byte* data) {
  return Load<uint64_t>(data, kSeq);
}

std::string_view CompactLocation::ClientIdOf(const std::byte* data) {
  const Lengths lengths = ReadLengths(data);
  return {reinterpret_cast<const char*>(lengths.texts), lengths.client_id};
}

uint16_t CompactLocation::ServerIndexOf(const std::byte* data) {
  return Load<uint16_t>(data, kServer);
}

std::string_view CompactLocation::BytesOf(const std::byte* data) {
  return {reinterpret_cast<const char*>(data), SizeOf(data)};
}

v1::Location CompactLocation::Decode(std::string_view bytes,
                                     std::string_view server_name) {
  const auto* data = reinterpret_cast<const std::byte*>(bytes.data());
  const Lengths lengths = ReadLengths(data);
  v1::Location location;
  const std::byte* in = lengths.texts;
  in = GetText(in, lengths.client_id, false, *location.mutable_client_id());
  in = GetText(in, lengths.coordinates,
               (lengths.flags & kCoordinatesPacked) != 0,
               *location.mutable_coordinates_text());
  in = GetText(in, lengths.time, (lengths.flags & kTimePacked) != 0,
               *location.mutable_client_time_text());
  if (lengths.inline_server) {
    GetText(in, lengths.server, false, *location.mutable_origin_server());
  } else {
    location.set_origin_server(server_name.data(), server_name.size());
  }
  location.set_latitude(Load<double>(data, kLatitude));
  location.set_longitude(Load<double>(data, kLongitude));
  if ((lengths.flags & kHasClientTime) != 0) {
    v1::Instant& client_time = *location.mutable_client_time();
    client_time.set_seconds(Load<int64_t>(data, kClientSeconds));
    client_time.set_nanos(Load<int32_t>(data, kClientNanos));
  }
  if ((lengths.flags & kHasServerTime) != 0) {
    v1::Instant& server_time = *location.mutable_server_time();
    server_time.set_seconds(Load<int64_t>(data, kServerSeconds));
    server_time.set_nanos(Load<int32_t>(data, kServerNanos));
  }
  return location;
}

}  // namespace herd
