// The durable log end to end on a real directory: appends through the
// flooder, recovery after a stop, torn tails, damage, snapshots, leftovers
// of a crash, and the fsync policies.
#include "herdnode/durable/durable_log.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "herdnode/durable/durable_files.h"
#include "herdnode/durable/posix_file.h"
#include "herdnode/durable/record_format.h"
#include "herdnode/store/flooding.h"
#include "herdnode/store/location_store.h"
#include "test_herd.h"
#include "test_location.h"

namespace herd {
namespace {

using ::herd::testing::DiskFault;
using ::herd::testing::DiskFaultErrorText;
using ::herd::testing::DiskFaultName;
using ::herd::testing::FaultEnv;
using ::herd::testing::MakeLocation;
using ::herd::testing::PollUntil;
using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;

std::shared_ptr<spdlog::logger> QuietLog() {
  return std::make_shared<spdlog::logger>("durable_log_test");
}

// A fresh, empty directory per test, and per process: two runs of the suite
// at once (two build trees, say) must not write into each other's logs.
std::string FreshDirectory(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/durable_log_test_" +
                           std::to_string(::getpid()) + "/" + name;
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path;
}

void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string Message(const absl::Status& status) {
  return std::string(status.message());
}

// A store, a flooder without peers and the log they write to: what a node
// has, minus the network.
struct OpenedNode {
  LocationStore store;
  Flooder flooder{store};
  std::unique_ptr<DurableLog> log;

  absl::Status Open(DurableLogOptions options) {
    absl::StatusOr<std::unique_ptr<DurableLog>> opened =
        DurableLog::Open(std::move(options), store, QuietLog());
    if (!opened.ok()) return opened.status();
    log = *std::move(opened);
    flooder.SetJournal(log.get());
    return absl::OkStatus();
  }

  // Floods and waits until the outcome may be acknowledged.
  std::pair<v1::UpdateOutcome, absl::Status> Report(
      const v1::Location& location) {
    Mutex mu;
    std::optional<std::pair<v1::UpdateOutcome, absl::Status>> result;
    flooder.Flood(location, "",
                  [&](v1::UpdateOutcome outcome, absl::Status status) {
                    MutexLock lock(&mu);
                    result.emplace(outcome, std::move(status));
                  });
    MutexLock lock(&mu);
    mu.Await([&] { return result.has_value(); });
    return *std::move(result);
  }

  std::string TimeOf(const std::string& client) const {
    std::optional<v1::Location> location = store.Get(client);
    return location.has_value() ? location->client_time_text() : "(none)";
  }
};

DurableLogOptions OptionsFor(const std::string& directory) {
  DurableLogOptions options;
  options.directory = directory;
  return options;
}

TEST(DurableLogTest, AcceptedUpdatesSurviveARestart) {
  const std::string directory = FreshDirectory("round_trip");
  {
    OpenedNode node;
    ASSERT_TRUE(node.Open(OptionsFor(directory)).ok());
    EXPECT_EQ(node.Report(MakeLocation("kiwi", "10")).first,
              v1::UPDATE_OUTCOME_ACCEPTED);
    EXPECT_EQ(node.Report(MakeLocation("lime", "20")).first,
              v1::UPDATE_OUTCOME_ACCEPTED);
    EXPECT_EQ(node.Report(MakeLocation("kiwi", "11")).first,
              v1::UPDATE_OUTCOME_ACCEPTED);
    // Stale and duplicate updates are acknowledged but not logged.
    const auto [outcome, status] = node.Report(MakeLocation("kiwi", "11"));
    EXPECT_EQ(outcome, v1::UPDATE_OUTCOME_DUPLICATE);
    EXPECT_TRUE(status.ok());
    EXPECT_EQ(node.Report(MakeLocation("kiwi", "9")).first,
              v1::UPDATE_OUTCOME_STALE);
  }
  OpenedNode restarted;
  ASSERT_TRUE(restarted.Open(OptionsFor(directory)).ok());
  EXPECT_EQ(restarted.log->recovered().log_records, 3u);
  EXPECT_EQ(restarted.TimeOf("kiwi"), "11");
  EXPECT_EQ(restarted.TimeOf("lime"), "20");
  const v1::Location original = MakeLocation("kiwi", "11");
  EXPECT_EQ(restarted.store.Get("kiwi")->coordinates_text(),
            original.coordinates_text());
}

// Writes a, b, c and returns the segment's bytes and where c starts.
std::pair<std::string, size_t> ThreeRecordSegment(
    const std::string& directory) {
  {
    OpenedNode node;
    EXPECT_TRUE(node.Open(OptionsFor(directory)).ok());
    node.Report(MakeLocation("a", "1"));
    node.Report(MakeLocation("b", "2"));
    node.Report(MakeLocation("c", "3"));
  }
  std::string bytes = *ReadWholeFile(SegmentPath(directory, 1));
  std::string last;
  EXPECT_TRUE(AppendRecord(MakeLocation("c", "3"), last).ok());
  return {bytes, bytes.size() - last.size()};
}

TEST(DurableLogTest, TornTailAtEveryOffsetIsDroppedAndTheLogWritableAfter) {
  const auto [bytes, last_start] =
      ThreeRecordSegment(FreshDirectory("torn_source"));
  for (size_t cut = last_start; cut < bytes.size(); ++cut) {
    SCOPED_TRACE(cut);
    const std::string directory = FreshDirectory("torn");
    WriteFile(SegmentPath(directory, 1), bytes.substr(0, cut));
    {
      OpenedNode node;
      ASSERT_TRUE(node.Open(OptionsFor(directory)).ok());
      EXPECT_EQ(node.TimeOf("a"), "1");
      EXPECT_EQ(node.TimeOf("b"), "2");
      EXPECT_EQ(node.TimeOf("c"), "(none)");
      EXPECT_EQ(node.log->recovered().torn_bytes_dropped, cut - last_start);
      EXPECT_EQ(std::filesystem::file_size(SegmentPath(directory, 1)),
                last_start);
      EXPECT_TRUE(node.Report(MakeLocation("d", "4")).second.ok());
    }
    OpenedNode again;
    ASSERT_TRUE(again.Open(OptionsFor(directory)).ok());
    EXPECT_EQ(again.TimeOf("d"), "4");
    EXPECT_EQ(again.log->recovered().torn_bytes_dropped, 0u);
  }
}

TEST(DurableLogTest, DamageBeforeValidRecordsIsAnErrorNamingFileAndOffset) {
  const std::string directory = FreshDirectory("damaged");
  auto [bytes, last_start] = ThreeRecordSegment(directory);
  bytes[last_start - 3] ^= 0x5A;  // inside b, which c follows
  WriteFile(SegmentPath(directory, 1), bytes);
  OpenedNode node;
  const absl::Status status = node.Open(OptionsFor(directory));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(status), HasSubstr(SegmentPath(directory, 1)));
  EXPECT_THAT(Message(status), HasSubstr("valid record at offset " +
                                         std::to_string(last_start)));
  // Nothing was cut off.
  EXPECT_EQ(*ReadWholeFile(SegmentPath(directory, 1)), bytes);
}

TEST(DurableLogTest, HeaderCutShortByACrashStartsTheSegmentAgain) {
  const std::string directory = FreshDirectory("short_header");
  WriteFile(SegmentPath(directory, 1),
            EncodeFileHeader(DurableFileKind::kLogSegment, 1).substr(0, 5));
  OpenedNode node;
  ASSERT_TRUE(node.Open(OptionsFor(directory)).ok());
  EXPECT_TRUE(node.Report(MakeLocation("a", "1")).second.ok());
}

TEST(DurableLogTest, SnapshotReplacesOldSegmentsAndReplaysWithTheLog) {
  const std::string directory = FreshDirectory("snapshot");
  DurableLogOptions options = OptionsFor(directory);
  options.snapshot_every_entries = 5;
  std::map<std::string, std::string> newest;
  {
    OpenedNode node;
    ASSERT_TRUE(node.Open(options).ok());
    for (int i = 1; i <= 23; ++i) {
      const std::string client = "client" + std::to_string(i % 7);
      const std::string time = std::to_string(100 + i);
      ASSERT_TRUE(node.Report(MakeLocation(client, time)).second.ok());
      newest[client] = time;
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (node.log->snapshots_written() == 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_GE(node.log->snapshots_written(), 1u);
  }
  EXPECT_TRUE(std::filesystem::exists(SnapshotPath(directory)));
  EXPECT_FALSE(std::filesystem::exists(SegmentPath(directory, 1)));
  OpenedNode restarted;
  ASSERT_TRUE(restarted.Open(options).ok());
  EXPECT_GT(restarted.log->recovered().snapshot_records, 0u);
  for (const auto& [client, time] : newest) {
    EXPECT_EQ(restarted.TimeOf(client), time) << client;
  }
  EXPECT_EQ(restarted.store.size(), newest.size());
}

TEST(DurableLogTest, SnapshotTmpLeftByACrashBeforeTheRenameIsIgnored) {
  const std::string directory = FreshDirectory("leftover_tmp");
  ThreeRecordSegment(directory);
  // A complete-looking snapshot that claims to hold segments below 99: had
  // recovery trusted it, the real segment would be dropped.
  std::string tmp = EncodeFileHeader(DurableFileKind::kSnapshot, 99);
  ASSERT_TRUE(AppendRecord(MakeLocation("ghost", "5"), tmp).ok());
  tmp += EncodeSnapshotFooter(1);
  WriteFile(SnapshotTempPath(directory), tmp);
  OpenedNode node;
  ASSERT_TRUE(node.Open(OptionsFor(directory)).ok());
  EXPECT_EQ(node.TimeOf("c"), "3");
  EXPECT_EQ(node.TimeOf("ghost"), "(none)");
  EXPECT_FALSE(std::filesystem::exists(SnapshotTempPath(directory)));
  EXPECT_TRUE(std::filesystem::exists(SegmentPath(directory, 1)));
}

TEST(DurableLogTest, DamagedSnapshotIsAnError) {
  const std::string directory = FreshDirectory("bad_snapshot");
  std::string snapshot = EncodeFileHeader(DurableFileKind::kSnapshot, 1);
  ASSERT_TRUE(AppendRecord(MakeLocation("a", "1"), snapshot).ok());
  // No footer: cut short.
  WriteFile(SnapshotPath(directory), snapshot);
  OpenedNode node;
  const absl::Status status = node.Open(OptionsFor(directory));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(status), HasSubstr(SnapshotPath(directory)));
}

TEST(DurableLogTest, MissingSegmentIsAnError) {
  const std::string directory = FreshDirectory("gap");
  ThreeRecordSegment(directory);
  std::filesystem::rename(SegmentPath(directory, 1), SegmentPath(directory, 2));
  OpenedNode node;
  const absl::Status status = node.Open(OptionsFor(directory));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(status), HasSubstr(SegmentPath(directory, 1)));
}

TEST(DurableLogTest, DirectoryInUseOrNotADirectoryIsAClearError) {
  const std::string directory = FreshDirectory("in_use");
  OpenedNode first;
  ASSERT_TRUE(first.Open(OptionsFor(directory)).ok());
  OpenedNode second;
  const absl::Status in_use = second.Open(OptionsFor(directory));
  EXPECT_THAT(Message(in_use), HasSubstr("in use"));
  EXPECT_THAT(Message(in_use), HasSubstr(directory));

  const std::string file = FreshDirectory("not_a_dir") + "/file";
  WriteFile(file, "x");
  OpenedNode third;
  const absl::Status not_dir = third.Open(OptionsFor(file + "/Hamilton"));
  EXPECT_FALSE(not_dir.ok());
  EXPECT_THAT(Message(not_dir), HasSubstr(file));
}

TEST(DurableLogTest, AppendsAfterStopAreRefusedNotLost) {
  const std::string directory = FreshDirectory("stopped");
  OpenedNode node;
  ASSERT_TRUE(node.Open(OptionsFor(directory)).ok());
  node.log->Stop();
  const auto [outcome, status] = node.Report(MakeLocation("a", "1"));
  EXPECT_EQ(outcome, v1::UPDATE_OUTCOME_ACCEPTED);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
}

class FsyncPolicyTest : public ::testing::TestWithParam<FsyncPolicy> {};

TEST_P(FsyncPolicyTest, EveryPolicyKeepsWhatAStopFlushed) {
  const std::string directory =
      FreshDirectory("policy" + std::to_string(static_cast<int>(GetParam())));
  DurableLogOptions options = OptionsFor(directory);
  options.fsync = GetParam();
  options.fsync_interval = absl::Milliseconds(20);
  {
    OpenedNode node;
    ASSERT_TRUE(node.Open(options).ok());
    for (int i = 1; i <= 50; ++i) {
      ASSERT_TRUE(
          node.Report(MakeLocation("kiwi", std::to_string(i))).second.ok());
    }
  }
  OpenedNode restarted;
  ASSERT_TRUE(restarted.Open(options).ok());
  EXPECT_EQ(restarted.TimeOf("kiwi"), "50");
  EXPECT_EQ(restarted.log->recovered().log_records, 50u);
}

INSTANTIATE_TEST_SUITE_P(AllPolicies, FsyncPolicyTest,
                         ::testing::Values(FsyncPolicy::kAlways,
                                           FsyncPolicy::kInterval,
                                           FsyncPolicy::kNever));

// Every disk fault the log can meet, through a FaultEnv switched on between
// two reports: the report during the fault is not acknowledged, nothing is
// accepted after it (even once the disk works again), and what was
// acknowledged before it is recovered from the real directory.
class DiskFaultTest : public ::testing::TestWithParam<DiskFault> {};

TEST_P(DiskFaultTest, NothingUndurableIsAcknowledgedAndAcknowledgedSurvives) {
  const DiskFault fault = GetParam();
  const std::string directory =
      FreshDirectory("fault_" + std::string(DiskFaultName(fault)));
  FaultEnv env;
  DurableLogOptions options = OptionsFor(directory);
  options.env = &env;
  absl::Status failed;
  {
    OpenedNode node;
    ASSERT_TRUE(node.Open(options).ok());
    for (int i = 1; i <= 5; ++i) {
      ASSERT_TRUE(
          node.Report(MakeLocation("kiwi", std::to_string(i))).second.ok());
    }
    ASSERT_TRUE(node.Report(MakeLocation("lime", "7")).second.ok());
    EXPECT_TRUE(node.log->Failure().ok());

    env.Inject(fault);
    failed = node.Report(MakeLocation("kiwi", "6")).second;
    ASSERT_FALSE(failed.ok());
    EXPECT_GT(env.faults_hit(), 0u) << "the fault was never hit";
    EXPECT_THAT(Message(failed), HasSubstr(DiskFaultErrorText(fault)));
    EXPECT_THAT(Message(failed), HasSubstr(directory + "/log."));
    EXPECT_EQ(node.log->Failure(), failed);
    EXPECT_EQ(node.flooder.JournalFailure(), failed);

    // The disk is fine again, but nothing written since the failure may be
    // trusted: every update is refused before the store, with the same
    // error, and never reaches the disk.
    env.Inject(DiskFault::kNone);
    const uint64_t hits = env.faults_hit();
    const auto [outcome, refused] = node.Report(MakeLocation("plum", "1"));
    EXPECT_EQ(outcome, v1::UPDATE_OUTCOME_UNSPECIFIED);
    EXPECT_EQ(refused, failed);
    EXPECT_FALSE(node.store.Get("plum").has_value());
    // Not even a duplicate of a durable update is acknowledged any more.
    EXPECT_EQ(node.Report(MakeLocation("lime", "7")).second, failed);
    EXPECT_EQ(node.flooder.AwaitDurable(), failed);
    EXPECT_EQ(env.faults_hit(), hits);
  }
  // The same directory on the real disk.
  OpenedNode restarted;
  ASSERT_TRUE(restarted.Open(OptionsFor(directory)).ok());
  EXPECT_TRUE(restarted.log->Failure().ok());
  EXPECT_EQ(restarted.TimeOf("lime"), "7");
  EXPECT_EQ(restarted.TimeOf("plum"), "(none)");
  switch (fault) {
    case DiskFault::kSyncError:
      // Written but not synced: the page cache still had it, so it may be
      // back. It was never acknowledged; either is allowed.
      EXPECT_THAT(restarted.TimeOf("kiwi"), AnyOf(Eq("5"), Eq("6")));
      break;
    case DiskFault::kShortWrite:
    case DiskFault::kDiskFull:
      // Half a record was written: a torn tail, cut off.
      EXPECT_GT(restarted.log->recovered().torn_bytes_dropped, 0u);
      EXPECT_EQ(restarted.TimeOf("kiwi"), "5");
      break;
    default:
      EXPECT_EQ(restarted.TimeOf("kiwi"), "5");
      break;
  }
  // And the recovered log takes updates again.
  EXPECT_TRUE(restarted.Report(MakeLocation("kiwi", "8")).second.ok());
}

INSTANTIATE_TEST_SUITE_P(EveryFault, DiskFaultTest,
                         ::testing::Values(DiskFault::kWriteError,
                                           DiskFault::kSyncError,
                                           DiskFault::kShortWrite,
                                           DiskFault::kDiskFull),
                         [](const ::testing::TestParamInfo<DiskFault>& param) {
                           return std::string(DiskFaultName(param.param));
                         });

// A snapshot that cannot be written (its own thread, its own file) is not a
// disk failure of the log: logged, the old segments kept, updates still
// acknowledged, and everything recovered from the segments.
TEST(DiskFaultTest, FailedSnapshotIsNotFatal) {
  const std::string directory = FreshDirectory("fault_in_snapshot");
  FaultEnv env;
  env.Inject(DiskFault::kDiskFull, "/snapshot.tmp");
  DurableLogOptions options = OptionsFor(directory);
  options.env = &env;
  options.snapshot_every_entries = 3;
  {
    OpenedNode node;
    ASSERT_TRUE(node.Open(options).ok());
    for (int i = 1; i <= 3; ++i) {
      ASSERT_TRUE(
          node.Report(MakeLocation("c" + std::to_string(i), "1")).second.ok());
    }
    // The third append started segment 2 and asked for a snapshot.
    ASSERT_TRUE(PollUntil(absl::Seconds(10), [&env] {
      return env.faults_hit() > 0;
    })) << "the snapshot was never attempted";
    EXPECT_TRUE(node.Report(MakeLocation("c4", "1")).second.ok());
    EXPECT_TRUE(node.log->Failure().ok());
    EXPECT_EQ(node.log->snapshots_written(), 0u);
  }
  EXPECT_FALSE(std::filesystem::exists(SnapshotPath(directory)));
  EXPECT_FALSE(std::filesystem::exists(SnapshotTempPath(directory)));
  OpenedNode restarted;
  ASSERT_TRUE(restarted.Open(OptionsFor(directory)).ok());
  EXPECT_EQ(restarted.log->recovered().log_records, 4u);
  for (int i = 1; i <= 4; ++i) {
    EXPECT_EQ(restarted.TimeOf("c" + std::to_string(i)), "1");
  }
}

TEST(DurableLogOptionsTest, FromTheHerdFile) {
  v1::DurabilityConfig config;
  config.set_data_directory("data");
  absl::StatusOr<DurableLogOptions> options =
      DurableLogOptionsFromConfig(config, "Hamilton");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->directory, "data/Hamilton");
  EXPECT_EQ(options->fsync, FsyncPolicy::kAlways);
  EXPECT_EQ(options->snapshot_every_entries, 100000u);

  config.set_fsync(v1::DurabilityConfig::FSYNC_INTERVAL);
  EXPECT_EQ(DurableLogOptionsFromConfig(config, "H")->fsync,
            FsyncPolicy::kInterval);
  EXPECT_EQ(DurableLogOptionsFromConfig(config, "H")->fsync_interval,
            absl::Milliseconds(100));
  config.set_fsync_interval_ms(250);
  config.set_snapshot_every_entries(7);
  EXPECT_EQ(DurableLogOptionsFromConfig(config, "H")->fsync_interval,
            absl::Milliseconds(250));
  EXPECT_EQ(DurableLogOptionsFromConfig(config, "H")->snapshot_every_entries,
            7u);
  config.set_fsync(v1::DurabilityConfig::FSYNC_NEVER);
  EXPECT_EQ(DurableLogOptionsFromConfig(config, "H")->fsync,
            FsyncPolicy::kNever);
  config.set_fsync(static_cast<v1::DurabilityConfig::FsyncPolicy>(42));
  EXPECT_THAT(Message(DurableLogOptionsFromConfig(config, "H").status()),
              HasSubstr("unknown policy 42"));
  config.clear_data_directory();
  EXPECT_FALSE(DurableLogOptionsFromConfig(config, "H").ok());
}

TEST(DurableLogOptionsTest, NoDataDirectoryMeansMemoryOnly) {
  v1::HerdConfig config;
  LocationStore store;
  absl::StatusOr<std::unique_ptr<DurableLog>> log =
      OpenConfiguredDurableLog(config, "Hamilton", store, QuietLog());
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(*log, nullptr);
}

}  // namespace
}  // namespace herd
