#include "herdnode/durable/record_format.h"

#include <utility>

#include "common/location_text.h"
#include "fmt/format.h"
#include "herdnode/durable/crc32c.h"

namespace herd {
namespace {

constexpr std::string_view kLogMagic("herdlog\n", 8);
constexpr std::string_view kSnapshotMagic("herdsnap", 8);
constexpr std::string_view kFooterMagic("snapend\n", 8);

// length: location's serialized size.
absl::Status CheckRecordLength(const v1::Location& location, size_t length) {
  if (length == 0 || length > kMaxRecordPayload) {
    return absl::InvalidArgumentError(fmt::format(
        "location of client {} is {} bytes serialized: not loggable (limit "
        "{})",
        QuoteForMessage(location.client_id()), length, kMaxRecordPayload));
  }
  return absl::OkStatus();
}

void PutU32(std::string& out, uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

void PutU64(std::string& out, uint64_t value) {
  for (int shift = 0; shift < 64; shift += 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

// bytes must hold at least 4 (8) bytes from offset.
uint32_t GetU32(std::string_view bytes, size_t offset) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) {
    value = (value << 8) |
            static_cast<unsigned char>(bytes[offset + static_cast<size_t>(i)]);
  }
  return value;
}

uint64_t GetU64(std::string_view bytes, size_t offset) {
  return static_cast<uint64_t>(GetU32(bytes, offset)) |
         (static_cast<uint64_t>(GetU32(bytes, offset + 4)) << 32);
}

std::string_view MagicOf(DurableFileKind kind) {
  return kind == DurableFileKind::kLogSegment ? kLogMagic : kSnapshotMagic;
}

// The record at offset and the offset just past it, if it is valid.
std::optional<std::pair<v1::Location, size_t>> DecodeRecord(
    std::string_view bytes, size_t offset) {
  if (bytes.size() - offset < kRecordOverheadBytes) return std::nullopt;
  const uint32_t length = GetU32(bytes, offset);
  if (length == 0 || length > kMaxRecordPayload ||
      bytes.size() - offset - kRecordOverheadBytes < length) {
    return std::nullopt;
  }
  const uint32_t stored_crc = GetU32(bytes, offset + 4);
  const uint32_t crc =
      Crc32c(bytes.substr(offset + kRecordOverheadBytes, length),
             Crc32c(bytes.substr(offset, 4)));
  if (crc != stored_crc) return std::nullopt;
  v1::Location location;
  if (!location.ParseFromArray(bytes.data() + offset + kRecordOverheadBytes,
                               static_cast<int>(length))) {
    return std::nullopt;
  }
  return std::make_pair(std::move(location),
                        offset + kRecordOverheadBytes + length);
}

}  // namespace

std::string EncodeFileHeader(DurableFileKind kind, uint64_t segment) {
  std::string header(MagicOf(kind));
  PutU32(header, kDurableFormatVersion);
  PutU64(header, segment);
  PutU32(header, Crc32c(header));
  return header;
}

absl::StatusOr<uint64_t> DecodeFileHeader(std::string_view bytes,
                                          DurableFileKind kind) {
  if (bytes.size() < kFileHeaderBytes) {
    return absl::DataLossError(
        fmt::format("file header cut short ({} of {} bytes)", bytes.size(),
                    kFileHeaderBytes));
  }
  if (bytes.substr(0, 8) != MagicOf(kind)) {
    return absl::DataLossError(
        fmt::format("not a herd {} file (wrong magic)",
                    kind == DurableFileKind::kLogSegment ? "log" : "snapshot"));
  }
  if (GetU32(bytes, 20) != Crc32c(bytes.substr(0, 20))) {
    return absl::DataLossError("file header checksum mismatch");
  }
  if (const uint32_t version = GetU32(bytes, 8);
      version != kDurableFormatVersion) {
    return absl::FailedPreconditionError(
        fmt::format("format version {} (this herdnode reads version {})",
                    version, kDurableFormatVersion));
  }
  return GetU64(bytes, 12);
}

absl::Status CheckRecordSize(const v1::Location& location) {
  return CheckRecordLength(location, location.ByteSizeLong());
}

absl::Status AppendRecord(const v1::Location& location, std::string& out) {
  const size_t length = location.ByteSizeLong();
  if (absl::Status fits = CheckRecordLength(location, length); !fits.ok()) {
    return fits;
  }
  const size_t start = out.size();
  PutU32(out, static_cast<uint32_t>(length));
  PutU32(out, 0);  // the CRC, filled in below
  out.resize(start + kRecordOverheadBytes + length);
  location.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(out.data() + start + kRecordOverheadBytes));
  const std::string_view record(out.data() + start,
                                kRecordOverheadBytes + length);
  const uint32_t crc =
      Crc32c(record.substr(kRecordOverheadBytes), Crc32c(record.substr(0, 4)));
  for (size_t i = 0; i < 4; ++i) {
    out[start + 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  }
  return absl::OkStatus();
}

std::string EncodeSnapshotFooter(uint64_t record_count) {
  std::string footer(kFooterMagic);
  PutU64(footer, record_count);
  PutU32(footer, Crc32c(footer));
  return footer;
}

std::optional<uint64_t> DecodeSnapshotFooter(std::string_view bytes) {
  if (bytes.size() != kSnapshotFooterBytes ||
      bytes.substr(0, 8) != kFooterMagic ||
      GetU32(bytes, 16) != Crc32c(bytes.substr(0, 16))) {
    return std::nullopt;
  }
  return GetU64(bytes, 8);
}

RecordScan ScanRecords(std::string_view bytes, size_t offset,
                       absl::FunctionRef<void(v1::Location&&)> visit) {
  RecordScan scan;
  scan.good_end = offset;
  while (scan.good_end < bytes.size()) {
    auto record = DecodeRecord(bytes, scan.good_end);
    if (!record.has_value()) break;
    visit(std::move(record->first));
    ++scan.records;
    scan.good_end = record->second;
  }
  // Is the bad spot followed by anything valid? Only a record that passes
  // its CRC counts (a false match is a 1 in 2^32 event per position), and
  // most positions fail the length check at once.
  for (size_t at = scan.good_end + 1; at < bytes.size(); ++at) {
    if (DecodeRecord(bytes, at).has_value()) {
      scan.next_valid = at;
      break;
    }
  }
  return scan;
}

}  // namespace herd
