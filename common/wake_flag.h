// WakeFlag: a flag that one thread sleeps on and others raise, behind a
// mutex of its own.
//
// A thread that sleeps in Await on a busy mutex (one that every update
// locks) has its condition evaluated by every unlock of that mutex. A thread
// that sleeps on a WakeFlag instead costs the busy path nothing: it is looked
// at only when the flag is raised.
#ifndef HERD_COMMON_WAKE_FLAG_H_
#define HERD_COMMON_WAKE_FLAG_H_

#include <chrono>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace herd {

class WakeFlag {
 public:
  // Wakes the sleeper (or keeps it from sleeping next time).
  void Raise() {
    MutexLock lock(&mu_);
    raised_ = true;
  }

  // Sleeps until the flag is raised or deadline passes, then lowers it.
  // Returns whether it was raised.
  bool SleepUntil(std::chrono::steady_clock::time_point deadline) {
    MutexLock lock(&mu_);
    const bool raised = mu_.AwaitWithDeadline(
        [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return raised_; },
        deadline);
    raised_ = false;
    return raised;
  }

  // Sleeps until the flag is raised, then lowers it.
  void Sleep() {
    MutexLock lock(&mu_);
    mu_.Await([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return raised_; });
    raised_ = false;
  }

 private:
  Mutex mu_;
  bool raised_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace herd

#endif  // HERD_COMMON_WAKE_FLAG_H_
