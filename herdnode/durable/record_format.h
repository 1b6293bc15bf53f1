// The bytes of herd's durable files (docs/DURABILITY.md, "Files").
//
// Every file starts with a 24-byte header:
//   magic (8) | version u32 | segment u64 | CRC-32C of the 20 bytes before
// (integers little-endian). A log segment's magic is "herdlog\n" and its
// segment is its own number; a snapshot's magic is "herdsnap" and its segment
// is the first log segment it does NOT contain.
//
// Then records, each one accepted Location:
//   length u32 | CRC-32C of (length bytes + payload) u32 | payload
// where payload is the serialized v1::Location, 1 to kMaxRecordPayload bytes.
// The CRC covers the length too, so a torn or flipped length is caught.
//
// A snapshot ends with a 20-byte footer, so a cut-short snapshot is noticed:
//   "snapend\n" | record count u64 | CRC-32C of the 16 bytes before
// ("snap" read as a length is far above kMaxRecordPayload: no record can be
// mistaken for the footer).
#ifndef HERD_HERDNODE_DURABLE_RECORD_FORMAT_H_
#define HERD_HERDNODE_DURABLE_RECORD_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "herd/v1/herd.pb.h"

namespace herd {

enum class DurableFileKind { kLogSegment, kSnapshot };

inline constexpr uint32_t kDurableFormatVersion = 1;
inline constexpr size_t kFileHeaderBytes = 24;
inline constexpr size_t kRecordOverheadBytes = 8;
inline constexpr size_t kSnapshotFooterBytes = 20;
// Far above any real Location (a client ID, two short texts, a server name).
inline constexpr size_t kMaxRecordPayload = 1 << 20;

std::string EncodeFileHeader(DurableFileKind kind, uint64_t segment);
// The header's segment number; an error says what is wrong with it.
absl::StatusOr<uint64_t> DecodeFileHeader(std::string_view bytes,
                                          DurableFileKind kind);

// OK if location fits one record (1 to kMaxRecordPayload bytes serialized).
// Checked before an update is applied (see location_check.h), so the store
// never holds what the journal would refuse, and again by AppendRecord.
absl::Status CheckRecordSize(const v1::Location& location);

// Appends location's record to out; an over-large location is an error.
absl::Status AppendRecord(const v1::Location& location, std::string& out);

std::string EncodeSnapshotFooter(uint64_t record_count);
// The footer's record count, or nullopt if bytes is not a valid footer.
std::optional<uint64_t> DecodeSnapshotFooter(std::string_view bytes);

struct RecordScan {
  uint64_t records = 0;  // valid records, each handed to the visitor
  size_t good_end = 0;   // just past the last valid record
  // If bytes remain after good_end (a bad record): where the next valid
  // record starts, if there is one (corruption in the middle), else nullopt
  // (a torn tail).
  std::optional<size_t> next_valid;
};

// Reads records from offset to the end of bytes, handing each valid one to
// visit, and stops at the first invalid one (bad length, bad CRC, cut
// short, or a payload that is not a Location).
RecordScan ScanRecords(std::string_view bytes, size_t offset,
                       absl::FunctionRef<void(v1::Location&&)> visit);

}  // namespace herd

#endif  // HERD_HERDNODE_DURABLE_RECORD_FORMAT_H_
