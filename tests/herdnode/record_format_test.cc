// The durable file format: CRC-32C, headers, records, the snapshot footer,
// and telling a torn tail from damage in the middle.
#include "herdnode/durable/record_format.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "herdnode/durable/crc32c.h"
#include "test_location.h"

namespace herd {
namespace {

using ::herd::testing::MakeLocation;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> ScannedClients(std::string_view bytes,
                                        RecordScan* scan_out = nullptr) {
  std::vector<std::string> clients;
  RecordScan scan = ScanRecords(bytes, 0, [&](v1::Location&& location) {
    clients.push_back(location.client_id());
  });
  if (scan_out != nullptr) *scan_out = scan;
  return clients;
}

TEST(Crc32cTest, MatchesTheCastagnoliCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  // Continuing over a split gives the same as one pass.
  EXPECT_EQ(Crc32c("6789", Crc32c("12345")), Crc32c("123456789"));
}

TEST(FileHeaderTest, RoundTripsAndRejectsDamage) {
  const std::string header = EncodeFileHeader(DurableFileKind::kLogSegment, 7);
  ASSERT_EQ(header.size(), kFileHeaderBytes);
  EXPECT_EQ(*DecodeFileHeader(header, DurableFileKind::kLogSegment), 7u);
  EXPECT_THAT(std::string(DecodeFileHeader(header, DurableFileKind::kSnapshot)
                              .status()
                              .message()),
              HasSubstr("wrong magic"));
  std::string flipped = header;
  flipped[13] ^= 1;  // the segment number
  EXPECT_THAT(
      std::string(DecodeFileHeader(flipped, DurableFileKind::kLogSegment)
                      .status()
                      .message()),
      HasSubstr("checksum"));
  EXPECT_FALSE(
      DecodeFileHeader(header.substr(0, 10), DurableFileKind::kLogSegment)
          .ok());
}

TEST(RecordTest, RoundTripsEveryField) {
  const v1::Location original =
      MakeLocation("kiwi.cs.ucla.edu", "1621464827.959498503",
                   "+34.068930-118.445127", "Hamilton");
  std::string bytes;
  ASSERT_TRUE(AppendRecord(original, bytes).ok());
  EXPECT_EQ(bytes.size(), kRecordOverheadBytes + original.ByteSizeLong());
  std::vector<v1::Location> read;
  const RecordScan scan = ScanRecords(
      bytes, 0, [&](v1::Location&& location) { read.push_back(location); });
  EXPECT_EQ(scan.records, 1u);
  EXPECT_EQ(scan.good_end, bytes.size());
  EXPECT_FALSE(scan.next_valid.has_value());
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].SerializeAsString(), original.SerializeAsString());
}

TEST(RecordTest, TornTailAtEveryOffsetOfTheLastRecordIsATail) {
  std::string bytes;
  ASSERT_TRUE(AppendRecord(MakeLocation("a", "1"), bytes).ok());
  ASSERT_TRUE(AppendRecord(MakeLocation("b", "2"), bytes).ok());
  const size_t last_start = bytes.size();
  ASSERT_TRUE(AppendRecord(MakeLocation("c", "3"), bytes).ok());
  for (size_t cut = last_start; cut < bytes.size(); ++cut) {
    SCOPED_TRACE(cut);
    RecordScan scan;
    EXPECT_THAT(ScannedClients(std::string_view(bytes).substr(0, cut), &scan),
                ElementsAre("a", "b"));
    EXPECT_EQ(scan.good_end, last_start);
    EXPECT_FALSE(scan.next_valid.has_value());
  }
}

TEST(RecordTest, DamageFollowedByValidRecordsIsReportedWithBothOffsets) {
  std::string bytes;
  ASSERT_TRUE(AppendRecord(MakeLocation("a", "1"), bytes).ok());
  const size_t second = bytes.size();
  ASSERT_TRUE(AppendRecord(MakeLocation("b", "2"), bytes).ok());
  const size_t third = bytes.size();
  ASSERT_TRUE(AppendRecord(MakeLocation("c", "3"), bytes).ok());
  // Every byte of the middle record, length and CRC included.
  for (size_t at = second; at < third; ++at) {
    SCOPED_TRACE(at);
    std::string damaged = bytes;
    damaged[at] ^= 0x40;
    RecordScan scan;
    EXPECT_THAT(ScannedClients(damaged, &scan), ElementsAre("a"));
    EXPECT_EQ(scan.good_end, second);
    ASSERT_TRUE(scan.next_valid.has_value());
    EXPECT_EQ(*scan.next_valid, third);
  }
}

TEST(RecordTest, ZeroFilledTailIsATail) {
  std::string bytes;
  ASSERT_TRUE(AppendRecord(MakeLocation("a", "1"), bytes).ok());
  const size_t end = bytes.size();
  bytes.append(4096, '\0');
  RecordScan scan;
  EXPECT_THAT(ScannedClients(bytes, &scan), ElementsAre("a"));
  EXPECT_EQ(scan.good_end, end);
  EXPECT_FALSE(scan.next_valid.has_value());
}

TEST(SnapshotFooterTest, RoundTripsAndRejectsDamage) {
  const std::string footer = EncodeSnapshotFooter(12345);
  ASSERT_EQ(footer.size(), kSnapshotFooterBytes);
  EXPECT_EQ(DecodeSnapshotFooter(footer), 12345u);
  std::string flipped = footer;
  flipped[9] ^= 1;
  EXPECT_FALSE(DecodeSnapshotFooter(flipped).has_value());
  EXPECT_FALSE(DecodeSnapshotFooter(footer.substr(1)).has_value());
}

}  // namespace
}  // namespace herd
