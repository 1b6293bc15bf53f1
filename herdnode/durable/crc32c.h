// CRC-32C (Castagnoli), the checksum of every durable log record.
//
// Abseil 20220623 (Debian bookworm) has no absl/crc, and zlib's crc32() is the
// IEEE polynomial; CRC-32C detects more error patterns in short records and
// is what storage formats commonly use, so herd computes it itself with a
// 256-entry table (about a byte per cycle: far below the cost of an fsync).
#ifndef HERD_HERDNODE_DURABLE_CRC32C_H_
#define HERD_HERDNODE_DURABLE_CRC32C_H_

#include <cstdint>
#include <string_view>

namespace herd {

// The CRC-32C of data, continuing from crc (the result of a previous call
// over the bytes before data; 0 to start). Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

}  // namespace herd

#endif  // HERD_HERDNODE_DURABLE_CRC32C_H_
