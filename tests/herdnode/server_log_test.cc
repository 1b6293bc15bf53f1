// The server log file: its line format, the escaping of bytes a client chose,
// and that every line reaches the file, in order, without a flush per line.
#include "herdnode/ops/server_log.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd {
namespace {

using ::testing::ElementsAre;

class ServerLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = (std::filesystem::path(::testing::TempDir()) /
                  fmt::format("server_log_test_{}", ::getpid()))
                     .string();
    std::filesystem::remove_all(directory_);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::vector<std::string> Lines() const {
    std::ifstream file(directory_ + "/Alford.log");
    std::vector<std::string> lines;
    for (std::string line; std::getline(file, line);) lines.push_back(line);
    return lines;
  }

  // Polls (bounded) until the file has at least count lines.
  std::vector<std::string> WaitForLines(size_t count) const {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::vector<std::string> lines = Lines();
    while (lines.size() < count &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      lines = Lines();
    }
    return lines;
  }

  // The message part of a line: after the time stamp, the level padded to
  // 5 columns, and a space.
  static std::string Message(const std::string& line) {
    const size_t level_start = line.find(' ') + 1;
    const size_t level_end = line.find(' ', level_start);
    return line.substr(level_start +
                       std::max<size_t>(level_end - level_start, 5) + 1);
  }

  std::string directory_;
};

TEST_F(ServerLogTest, LinesAreTimeStampedAndLevelled) {
  auto log = OpenServerLog(directory_, "Alford");
  ASSERT_TRUE(log.ok()) << log.status();
  (*log)->info("hello {}", 1);
  (*log)->warn("careful");
  const std::vector<std::string> lines = WaitForLines(2);
  ASSERT_EQ(lines.size(), 2u);
  const std::regex info(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z info  hello 1)");
  const std::regex warning(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z warning careful)");
  EXPECT_TRUE(std::regex_match(lines[0], info)) << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1], warning)) << lines[1];
}

TEST_F(ServerLogTest, BytesAClientChoseAreEscaped) {
  auto log = OpenServerLog(directory_, "Alford");
  ASSERT_TRUE(log.ok()) << log.status();
  // Every byte in every position of an 8-byte word, between plain runs of
  // several lengths (the escaper tests 8 bytes at a time).
  std::vector<std::string> expected;
  for (int value = 0; value < 256; ++value) {
    const auto byte = static_cast<char>(value);
    const std::string prefix(static_cast<size_t>(value % 11), 'p');
    const std::string raw = prefix + byte + "tail-of-some-length";
    (*log)->info("{}", raw);
    std::string escaped;
    if (value == '\\') {
      escaped = "\\\\";
    } else if (value >= 0x20 && value < 0x7f) {
      escaped = std::string(1, byte);
    } else {
      escaped = fmt::format("\\x{:02x}", value);
    }
    expected.push_back(prefix + escaped + "tail-of-some-length");
  }
  (*log)->info("{}", std::string("\x1b[2J\\\x7f\xc3\xa9 ok", 11));
  expected.push_back("\\x1b[2J\\\\\\x7f\\xc3\\xa9 ok");
  const std::vector<std::string> lines = WaitForLines(expected.size());
  ASSERT_EQ(lines.size(), expected.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(Message(lines[i]), expected[i]) << "line " << i;
  }
}

TEST_F(ServerLogTest, EveryLineArrivesInOrderFromManyThreads) {
  auto log = OpenServerLog(directory_, "Alford");
  ASSERT_TRUE(log.ok()) << log.status();
  constexpr int kThreads = 4;
  constexpr int kLinesEach = 5000;
  {
    std::vector<std::jthread> writers;
    writers.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&log, t] {
        for (int i = 0; i < kLinesEach; ++i) (*log)->info("t{} n{}", t, i);
      });
    }
  }
  const std::vector<std::string> lines =
      WaitForLines(size_t{kThreads} * kLinesEach);
  ASSERT_EQ(lines.size(), size_t{kThreads} * kLinesEach);
  std::vector<int> next(kThreads, 0);
  for (const std::string& line : lines) {
    int thread = -1;
    int number = -1;
    std::istringstream message(Message(line));
    char t = 0;
    char n = 0;
    message >> t >> thread >> n >> number;
    ASSERT_TRUE(thread >= 0 && thread < kThreads) << line;
    EXPECT_EQ(number, next[thread]) << line;  // each thread's lines in order
    next[thread] = number + 1;
  }
  EXPECT_THAT(next,
              ElementsAre(kLinesEach, kLinesEach, kLinesEach, kLinesEach));
}

TEST_F(ServerLogTest, FlushWritesAtOnceAndClosingWritesTheRest) {
  {
    auto log = OpenServerLog(directory_, "Alford");
    ASSERT_TRUE(log.ok()) << log.status();
    (*log)->info("first");
    (*log)->flush();
    EXPECT_EQ(Lines().size(), 1u);  // no waiting after a flush
    (*log)->info("last");
  }  // the logger goes: what it held is written
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(Message(lines[1]), "last");
}

TEST_F(ServerLogTest, UnwritableDirectoryIsAnErrorNamingIt) {
  const std::string file = directory_ + "-file";
  std::ofstream(file) << "not a directory";
  auto log = OpenServerLog(file + "/logs", "Alford");
  EXPECT_FALSE(log.ok());
  EXPECT_THAT(std::string(log.status().message()),
              ::testing::HasSubstr(file + "/logs"));
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace herd
