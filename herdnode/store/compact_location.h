// One client's stored location packed into a single heap block: the parsed
// numbers at fixed offsets, then the texts verbatim (the digit-only ones at
// two characters per byte). About 90 bytes for a typical client instead of
// the 400-500 a v1::Location message with its strings takes, so a node can
// hold a million clients in well under 256 bytes each.
#ifndef HERD_HERDNODE_STORE_COMPACT_LOCATION_H_
#define HERD_HERDNODE_STORE_COMPACT_LOCATION_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "herd/v1/herd.pb.h"

namespace herd {

class CompactLocation {
 public:
  // Where the origin server's name lives: an index into a table the caller
  // keeps (there are few servers, so a name is stored once per node), or
  // kInlineServer to keep the name in the record itself.
  static constexpr uint16_t kInlineServer = 0xFFFF;

  // A record of location accepted as sequence number seq.
  CompactLocation(const v1::Location& location, uint64_t seq,
                  uint16_t server_index);

  // Replaces the record's contents, in place when they fit the block (a
  // client's reports usually keep their sizes), else in a new block. The
  // client ID must be the record's own: the caller's hash sets key on it.
  // Pointers from data() are stale afterwards if the block moved.
  void Replace(const v1::Location& location, uint64_t seq,
               uint16_t server_index);

  std::string_view client_id() const { return ClientIdOf(data()); }
  uint64_t seq() const { return SeqOf(data()); }
  // The stored client time against instant: seconds first, then nanos.
  std::strong_ordering CompareClientTime(const v1::Instant& instant) const;

  // Where the record starts, for indexes that point at records; the block
  // stays put until the next Replace.
  const std::byte* data() const { return block_.get(); }

  // Readers of a record that starts at data.
  static uint64_t SeqOf(const std::byte* data);
  static std::string_view ClientIdOf(const std::byte* data);
  static uint16_t ServerIndexOf(const std::byte* data);
  // All of its bytes, to copy out (Decode reads such a copy).
  static std::string_view BytesOf(const std::byte* data);

  // Rebuilds the stored location from a copy of BytesOf. server_name is the
  // name behind ServerIndexOf (ignored when the record holds it inline).
  static v1::Location Decode(std::string_view bytes,
                             std::string_view server_name);

 private:
  // Bytes in the block: what malloc hands out anyway for size bytes, so a
  // later, slightly longer report still fits in place.
  static size_t BlockSize(size_t size);
  void Write(const v1::Location& location, uint64_t seq, uint16_t server_index);

  std::unique_ptr<std::byte[]> block_;
};

}  // namespace herd

#endif  // HERD_HERDNODE_STORE_COMPACT_LOCATION_H_
