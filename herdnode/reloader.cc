#include "herdnode/reloader.h"

#include <utility>

namespace herd {
namespace {

absl::Status Stopped() {
  return absl::UnavailableError("the server is stopping: nothing reloaded");
}

}  // namespace

Reloader::Reloader(ReloaderOptions options)
    : options_(std::move(options)), thread_([this] { Run(); }) {}

Reloader::~Reloader() { Stop(); }

void Reloader::Request(ReloadDone done) {
  {
    MutexLock lock(&mu_);
    if (!stopping_) {
      waiting_.push_back(std::move(done));
      return;
    }
  }
  done(Stopped());
}

void Reloader::Stop() {
  std::vector<ReloadDone> unanswered;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    unanswered.swap(waiting_);
  }
  if (thread_.joinable()) thread_.join();
  for (ReloadDone& done : unanswered) done(Stopped());
  // Requests that came while the thread finished its last reload.
  MutexLock lock(&mu_);
  unanswered.swap(waiting_);
  for (ReloadDone& done : unanswered) done(Stopped());
}

void Reloader::Run() {
  const bool watching = options_.watch_every > absl::ZeroDuration() &&
                        options_.file_changed != nullptr;
  for (;;) {
    std::vector<ReloadDone> asked;
    {
      MutexLock lock(&mu_);
      const auto asked_or_stopping =
          [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return stopping_ || !waiting_.empty();
          };
      if (watching) {
        mu_.AwaitWithTimeout(asked_or_stopping,
                             absl::ToChronoNanoseconds(options_.watch_every));
      } else {
        mu_.Await(asked_or_stopping);
      }
      if (stopping_) return;
      asked.swap(waiting_);
    }
    if (asked.empty()) {
      // The watch's turn: the file changed since it was last read.
      if (!options_.file_changed()) continue;
      ReloadResult result = options_.reload();
      if (options_.watched != nullptr) options_.watched(std::move(result));
      continue;
    }
    const ReloadResult result = options_.reload();
    for (ReloadDone& done : asked) done(result);
  }
}

}  // namespace herd
