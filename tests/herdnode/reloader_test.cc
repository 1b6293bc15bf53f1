// The reloader: one reload at a time on its own thread, requests that wait
// together sharing one, the watch, and stopping.
#include "herdnode/reloader.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "test_herd.h"

namespace herd {
namespace {

using ::herd::testing::PollUntil;

ReloadResult Counted(int n) {
  v1::ReloadResponse response;
  response.add_links_added(std::to_string(n));
  return response;
}

TEST(ReloaderTest, RequestsGetTheOutcomeOfAReloadThatStartsAfterThem) {
  std::atomic<int> reloads{0};
  absl::Notification release;
  ReloaderOptions options;
  options.reload = [&] {
    const int n = ++reloads;
    if (n == 1) release.WaitForNotification();  // the first one is slow
    return Counted(n);
  };
  Reloader reloader(std::move(options));
  std::vector<std::string> seen(3);
  std::atomic<int> answered{0};
  const auto record = [&](int i) {
    return [&, i](const ReloadResult& result) {
      ASSERT_TRUE(result.ok());
      seen[i] = result->links_added(0);
      ++answered;
    };
  };
  reloader.Request(record(0));
  ASSERT_TRUE(PollUntil(absl::Seconds(20), [&] { return reloads == 1; }));
  // Asked while the first reload runs: both wait for the next one, which
  // they share.
  reloader.Request(record(1));
  reloader.Request(record(2));
  release.Notify();
  ASSERT_TRUE(PollUntil(absl::Seconds(20), [&] { return answered == 3; }));
  EXPECT_EQ(seen[0], "1");
  EXPECT_EQ(seen[1], "2");
  EXPECT_EQ(seen[2], "2");
  EXPECT_EQ(reloads, 2);
}

TEST(ReloaderTest, TheWatchReloadsOnlyWhenTheFileChanged) {
  std::atomic<int> reloads{0};
  std::atomic<bool> changed{false};
  std::atomic<int> watched{0};
  std::atomic<int> looks{0};
  ReloaderOptions options;
  options.reload = [&] { return Counted(++reloads); };
  options.watch_every = absl::Milliseconds(5);
  options.file_changed = [&] {
    ++looks;
    return changed.exchange(false);
  };
  options.watched = [&](const ReloadResult& /*result*/) { ++watched; };
  Reloader reloader(std::move(options));
  // Watch turns without a change: no reload.
  ASSERT_TRUE(PollUntil(absl::Seconds(20), [&] { return looks >= 5; }));
  EXPECT_EQ(reloads, 0);
  changed = true;
  ASSERT_TRUE(PollUntil(absl::Seconds(20), [&] { return watched == 1; }));
  EXPECT_EQ(reloads, 1);
}

TEST(ReloaderTest, AfterStopRequestsAreAnsweredUnavailable) {
  ReloaderOptions options;
  options.reload = [] { return Counted(1); };
  Reloader reloader(std::move(options));
  reloader.Stop();
  bool answered = false;
  reloader.Request([&](const ReloadResult& result) {
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
    answered = true;
  });
  EXPECT_TRUE(answered);
  reloader.Stop();  // idempotent
}

}  // namespace
}  // namespace herd
