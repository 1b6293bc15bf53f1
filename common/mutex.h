// herd::Mutex: a std::mutex with Abseil's thread-safety annotations and
// absl::Mutex-style conditional waits.
//
// Why not absl::Mutex: Debian builds Abseil without ThreadSanitizer, so TSan
// cannot see absl::Mutex lock and unlock, and it reports every access that one
// guards as a race. std::mutex goes through pthread, which TSan intercepts, so
// the TSan build checks our locking for real. The annotations keep clang's
// -Wthread-safety analysis and the GUARDED_BY documentation we had.
#ifndef HERD_COMMON_MUTEX_H_
#define HERD_COMMON_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"

namespace herd {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }

  // Like absl::Mutex, the unlocking thread evaluates the waiters' conditions
  // and wakes them only if one now holds, so code that changes guarded state
  // never has to remember to notify, and a thread sleeping on a busy mutex is
  // not woken by every unlock that leaves its condition false.
  // The notify comes before the unlock: a waiter that wakes by itself
  // (timeout, spurious wakeup) as soon as the lock is free may see its
  // condition hold and destroy this Mutex (a one-shot wait on the stack, an
  // owner whose Stop() waited for this), so nothing may touch it after.
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    if (AnyWaiterReady()) changed_.notify_all();
    mu_.unlock();
  }

  // Blocks until condition() is true. Call with the lock held; it is released
  // while waiting and held again on return.
  template <typename Condition>
  void Await(Condition condition) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    while (!condition()) {
      WaitForUnlock(condition, [](auto& cv, auto& held) { cv.wait(held); });
    }
  }

  // Like Await, but gives up at deadline. Returns condition() on return.
  template <typename Condition, typename Clock, typename Duration>
  bool AwaitWithDeadline(Condition condition,
                         std::chrono::time_point<Clock, Duration> deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    while (!condition()) {
      if (Clock::now() >= deadline) return false;
      WaitForUnlock(condition, [&](auto& cv, auto& held) {
        cv.wait_until(held, deadline);
      });
    }
    return true;
  }

  template <typename Condition, typename Rep, typename Period>
  bool AwaitWithTimeout(Condition condition,
                        std::chrono::duration<Rep, Period> timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    return AwaitWithDeadline(condition,
                             std::chrono::steady_clock::now() + timeout);
  }

 private:
  // A thread in Await, linked into waiters_ from its own stack for as long as
  // it sleeps.
  struct Waiter {
    absl::FunctionRef<bool()> ready;
    Waiter* next;
  };

  bool AnyWaiterReady() {
    for (const Waiter* waiter = waiters_; waiter != nullptr;
         waiter = waiter->next) {
      if (waiter->ready()) return true;
    }
    return false;
  }

  // One wait for an unlock that makes condition() true (or for whatever else
  // ends wait_once), with the lock held before and after.
  template <typename Condition, typename WaitOnce>
  void WaitForUnlock(Condition& condition, WaitOnce wait_once) {
    Waiter self{condition, waiters_};
    waiters_ = &self;
    std::unique_lock<std::mutex> held(mu_, std::adopt_lock);
    wait_once(changed_, held);
    held.release();  // still locked: the caller's MutexLock unlocks it
    Waiter** link = &waiters_;
    while (*link != &self) link = &(*link)->next;
    *link = self.next;
  }

  std::mutex mu_;
  std::condition_variable changed_;
  Waiter* waiters_ = nullptr;  // guarded by mu_
};

// Holds a herd::Mutex for its scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }

 private:
  Mutex* mu_;
};

}  // namespace herd

#endif  // HERD_COMMON_MUTEX_H_
