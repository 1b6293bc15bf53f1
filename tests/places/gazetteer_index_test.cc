// The binary gazetteer index: round trip, and every kind of bad file is
// refused with an error naming the path.
#include "herdnode/places/gazetteer_index.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "herdnode/places/file_bytes.h"

namespace herd::places {
namespace {

class GazetteerIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("herd_gazetteer_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "test.idx").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string ReadBytes() {
    auto bytes = ReadFileBytes(path_);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.ok() ? *bytes : "";
  }
  void WriteBytes(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  }
  void ExpectRefused(const std::string& why) {
    auto g = Gazetteer::Load(path_);
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.status().code(), absl::StatusCode::kDataLoss) << g.status();
    EXPECT_NE(g.status().message().find(path_), std::string::npos)
        << g.status();
    EXPECT_NE(g.status().message().find(why), std::string::npos) << g.status();
  }

  const std::vector<GazetteerEntry> entries_ = {
      {34'052'230, -118'243'680, "Los Angeles", "California", "US"},
      {-18'066'670, 179'316'670, "Levuka", "Eastern", "FJ"},
      {78'223'340, 15'646'890, "Longyearbyen", "", "SJ"},
      {-90'000'000, -180'000'000, "Corner", "California", "US"},
  };
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(GazetteerIndexTest, RoundTrips) {
  ASSERT_TRUE(WriteGazetteerIndex(entries_, path_).ok());
  auto g = Gazetteer::Load(path_);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->size(), entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    EXPECT_EQ(g->name(i), entries_[i].name);
    EXPECT_EQ(g->admin1(i), entries_[i].admin1);
    EXPECT_EQ(g->country(i), entries_[i].country);
    EXPECT_DOUBLE_EQ(g->latitude(i), entries_[i].latitude_e6 * 1e-6);
    EXPECT_DOUBLE_EQ(g->longitude(i), entries_[i].longitude_e6 * 1e-6);
  }
}

TEST_F(GazetteerIndexTest, StoresRepeatedStringsOnce) {
  std::vector<GazetteerEntry> many(1000, entries_[0]);
  ASSERT_TRUE(WriteGazetteerIndex(many, path_).ok());
  // 32-byte header + 20 bytes per record + one copy of each string (sizeof
  // counts the NUL each is stored with).
  constexpr size_t kStrings =
      sizeof("Los Angeles") + sizeof("California") + sizeof("US");
  EXPECT_EQ(ReadBytes().size(), 32 + 1000 * 20 + kStrings);
}

TEST_F(GazetteerIndexTest, RefusesAMissingFile) {
  auto g = Gazetteer::Load(path_ + ".absent");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(g.status().message().find(path_ + ".absent"), std::string::npos);
}

TEST_F(GazetteerIndexTest, RefusesWrongMagic) {
  WriteBytes("this is not an index at all, just text padding it out");
  ExpectRefused("bad magic");
}

TEST_F(GazetteerIndexTest, RefusesAnotherVersion) {
  ASSERT_TRUE(WriteGazetteerIndex(entries_, path_).ok());
  std::string bytes = ReadBytes();
  bytes[8] = 2;  // version, little-endian
  WriteBytes(bytes);
  ExpectRefused("version 2");
}

TEST_F(GazetteerIndexTest, RefusesATruncatedFile) {
  ASSERT_TRUE(WriteGazetteerIndex(entries_, path_).ok());
  std::string bytes = ReadBytes();
  bytes.resize(bytes.size() - 7);
  WriteBytes(bytes);
  ExpectRefused("header says");
}

TEST_F(GazetteerIndexTest, RefusesAFlippedByte) {
  ASSERT_TRUE(WriteGazetteerIndex(entries_, path_).ok());
  std::string bytes = ReadBytes();
  bytes[40] = static_cast<char>(bytes[40] ^ 0x10);
  WriteBytes(bytes);
  ExpectRefused("checksum");
}

TEST_F(GazetteerIndexTest, RefusesOutOfRangeCoordinates) {
  std::vector<GazetteerEntry> bad = entries_;
  bad[1].latitude_e6 = 90'000'001;
  ASSERT_TRUE(WriteGazetteerIndex(bad, path_).ok());
  ExpectRefused("record 1 has coordinates out of range");
}

}  // namespace
}  // namespace herd::places
