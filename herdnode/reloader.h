// Reloads of the herd file, one at a time, on a thread of their own: a
// reload reads a file and joins the workers of removed links, which must
// never happen on a gRPC poller or a gateway event loop. SIGHUP, the Reload
// call and the herd file watch all ask here.
#ifndef HERD_HERDNODE_RELOADER_H_
#define HERD_HERDNODE_RELOADER_H_

#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/mutex.h"
#include "herd/v1/config.pb.h"
#include "herd/v1/herd.pb.h"

namespace herd {

using ReloadResult = absl::StatusOr<v1::ReloadResponse>;
using ReloadDone = absl::AnyInvocable<void(ReloadResult)>;

struct ReloaderOptions {
  // Reads the herd file and applies it (or says why not, changing nothing).
  absl::AnyInvocable<ReloadResult()> reload;
  // With a watch: how often to ask file_changed whether to reload unasked
  // (absl::ZeroDuration(): never).
  absl::Duration watch_every = absl::ZeroDuration();
  absl::AnyInvocable<bool()> file_changed;
  // Told the outcome of every reload the watch started.
  ReloadDone watched;
};

// A part of the server other than the node that runs with the herd file and
// takes part in reloads (the gateway; app/main.cc connects it). A reload is
// applied only if every part can take the new file.
class ReloadParticipant {
 public:
  virtual ~ReloadParticipant() = default;
  // OK if next can be applied; changes nothing.
  virtual absl::Status Check(const v1::HerdConfig& next) = 0;
  // Applies next, which Check accepted (cannot fail); returns whether
  // anything changed.
  virtual bool Apply(const v1::HerdConfig& next) = 0;
};

class Reloader {
 public:
  explicit Reloader(ReloaderOptions options);
  ~Reloader();  // Stops.

  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // Asks for a reload. done runs on the reloader's thread with the outcome
  // of a reload that starts after this call (requests waiting together
  // share one), or with UNAVAILABLE at once if the reloader has stopped.
  void Request(ReloadDone done);
  // Finishes the reload in progress, answers every waiting request
  // UNAVAILABLE and joins the thread. Idempotent.
  void Stop();

 private:
  void Run();

  ReloaderOptions options_;
  Mutex mu_;
  std::vector<ReloadDone> waiting_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::jthread thread_;
};

}  // namespace herd

#endif  // HERD_HERDNODE_RELOADER_H_
