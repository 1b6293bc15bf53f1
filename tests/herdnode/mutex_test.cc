// herd::Mutex's conditional waits: a waiter wakes when another thread
// changes the state and unlocks, and the timed waits give up at their
// deadline, never before, with the condition's value.
//
// Every hand-off below starts the other thread while the waiter holds the
// lock, so that thread can only act once the waiter has checked its
// condition and released the lock inside the wait: the wakeup under test is
// the one that happens, with no sleeps.
#include "common/mutex.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace herd {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using std::chrono::system_clock;

// Long enough never to be reached when the wakeup works; it only keeps a
// broken wakeup from hanging the suite.
constexpr auto kNeverReached = std::chrono::minutes(5);

TEST(MutexTest, AwaitWakesWhenAnotherThreadMakesTheConditionTrue) {
  Mutex mu;
  bool ready = false;  // guarded by mu
  int checks = 0;      // guarded by mu
  {
    MutexLock lock(&mu);
    std::jthread setter([&] {
      MutexLock setter_lock(&mu);
      ready = true;
    });
    mu.Await([&] {
      ++checks;
      return ready;
    });
    EXPECT_TRUE(ready);
    // False while the setter waited for the lock, true after its unlock.
    EXPECT_GE(checks, 2);
  }
}

TEST(MutexTest, AwaitReturnsAtOnceWhenTheConditionAlreadyHolds) {
  Mutex mu;
  int checks = 0;
  MutexLock lock(&mu);
  mu.Await([&] {
    ++checks;
    return true;
  });
  EXPECT_EQ(checks, 1);
}

TEST(MutexTest, AwaitWithTimeoutIsTrueWhenAnotherThreadMakesTheConditionTrue) {
  Mutex mu;
  bool ready = false;  // guarded by mu
  MutexLock lock(&mu);
  std::jthread setter([&] {
    MutexLock setter_lock(&mu);
    ready = true;
  });
  EXPECT_TRUE(mu.AwaitWithTimeout([&] { return ready; }, kNeverReached));
}

TEST(MutexTest,
     AwaitWithTimeoutIsFalseAtTheDeadlineWhenTheConditionNeverHolds) {
  Mutex mu;
  MutexLock lock(&mu);
  const auto timeout = milliseconds(50);
  const steady_clock::time_point start = steady_clock::now();
  EXPECT_FALSE(mu.AwaitWithTimeout([] { return false; }, timeout));
  // It gave up at the deadline, not before it.
  EXPECT_GE(steady_clock::now() - start, timeout);
}

TEST(MutexTest, AwaitWithTimeoutStillTimesOutWhileOtherThreadsUnlock) {
  Mutex mu;
  int unrelated = 0;  // guarded by mu; never what the waiter waits for
  std::atomic<bool> waiter_returned{false};
  // Each of its unlocks wakes the waiter for another check; none of them
  // may end the wait early or make it report the condition true. (Declared
  // before the lock, so it is joined after the lock is released.)
  std::jthread other([&] {
    for (int i = 0; i < 1'000'000 && !waiter_returned.load(); ++i) {
      MutexLock other_lock(&mu);
      ++unrelated;
    }
  });
  MutexLock lock(&mu);
  const auto timeout = milliseconds(50);
  const steady_clock::time_point start = steady_clock::now();
  EXPECT_FALSE(mu.AwaitWithTimeout([] { return false; }, timeout));
  EXPECT_GE(steady_clock::now() - start, timeout);
  waiter_returned = true;
}

TEST(MutexTest, AwaitWithDeadlineOnTheSystemClock) {
  Mutex mu;
  MutexLock lock(&mu);
  const system_clock::time_point past = system_clock::now() - milliseconds(1);
  EXPECT_FALSE(mu.AwaitWithDeadline([] { return false; }, past));
  EXPECT_TRUE(mu.AwaitWithDeadline([] { return true; }, past));

  const system_clock::time_point deadline =
      system_clock::now() + milliseconds(20);
  EXPECT_FALSE(mu.AwaitWithDeadline([] { return false; }, deadline));
  EXPECT_GE(system_clock::now(), deadline);
}

TEST(MutexTest, TheMutexExcludes) {
  Mutex mu;
  int count = 0;  // guarded by mu
  constexpr int kPerThread = 10'000;
  {
    std::jthread a([&] {
      for (int i = 0; i < kPerThread; ++i) {
        MutexLock lock(&mu);
        ++count;
      }
    });
    std::jthread b([&] {
      for (int i = 0; i < kPerThread; ++i) {
        MutexLock lock(&mu);
        ++count;
      }
    });
  }
  MutexLock lock(&mu);
  EXPECT_EQ(count, 2 * kPerThread);
}

}  // namespace
}  // namespace herd
