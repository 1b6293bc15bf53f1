// The gateway's end of the node's ReportLocations stream. Every IAMAT of
// every connection goes on one long-lived stream, one message written at a
// time, and a message is not written while the node has not answered the
// last one (unless it is full): the reports that arrive meanwhile go
// together in the next, so gRPC's per-call cost (and its thread hand-offs)
// is paid per batch rather than per IAMAT, and batches grow with the load
// without a timer (Nagle's rule, with the node's answer for the ACK). The
// node floods a message's reports on as one message per link, so every
// server of the herd works per batch. An optional linger (report_linger_us)
// also holds a report that finds the stream idle, for company. Results come
// back matched by request id.
#ifndef HERD_GATEWAY_REPORT_BATCHER_H_
#define HERD_GATEWAY_REPORT_BATCHER_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "boost/asio/steady_timer.hpp"
#include "common/grpc_pollers.h"
#include "common/mutex.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"
#include "herd/v1/herd.grpc.pb.h"

namespace herd::gateway {

// Whoever waits for a report's result (a gateway connection).
class ReportWaiter {
 public:
  virtual ~ReportWaiter() = default;
  // Called exactly once per Submit, with its tag: status OK and the node's
  // response, or the error that kept the report from being answered
  // (response null). Runs on a poller thread, or inside Submit or Shutdown;
  // must not block. response is only valid during the call.
  virtual void OnReportDone(uint64_t tag, const grpc::Status& status,
                            const v1::ReportLocationResponse* response) = 0;
};

// One IAMAT's fields, exactly as the client sent them.
struct ReportFields {
  std::string_view client_id;
  std::string_view coordinates_text;
  std::string_view client_time_text;
  v1::Instant received_at;
};

// Thread-safe.
class ReportBatcher {
 public:
  using Clock = std::chrono::steady_clock;

  // channel: to this server's own node. A report unanswered after deadline
  // means the node is stuck (see ExpireOverdue). linger: how long a report
  // that finds the stream idle waits before its message is written (zero:
  // not at all). The streams go on the pollers' queues, which must run
  // until Shutdown().
  ReportBatcher(const std::shared_ptr<grpc::Channel>& channel,
                GrpcPollers& pollers, Clock::duration deadline,
                Clock::duration linger);
  ~ReportBatcher();  // Shutdown()

  ReportBatcher(const ReportBatcher&) = delete;
  ReportBatcher& operator=(const ReportBatcher&) = delete;

  // Queues one report (opening the stream if none is open). linger_timer
  // belongs to the calling thread's event loop and serves this batcher
  // only: if the report starts a lingering message, it is armed to write
  // it.
  void Submit(std::shared_ptr<ReportWaiter> waiter, uint64_t tag,
              const ReportFields& report,
              boost::asio::steady_timer& linger_timer);
  // If a report has waited longer than the deadline, the node is stuck:
  // the stream is cancelled and everything waiting on it fails (the next
  // Submit opens a new one). Call it periodically.
  void ExpireOverdue();
  // Fails everything waiting, cancels the stream and waits (bounded) until
  // gRPC is done with it. Submit fails at once afterwards. Idempotent.
  void Shutdown();

 private:
  class Stream;
  struct Outgoing;
  struct Failed {
    std::shared_ptr<ReportWaiter> waiter;
    uint64_t tag;
  };

  // What taking a stream out of service leaves to do outside mu_.
  enum class Detach {
    kNone,    // it was out of service already
    kClose,   // cancel it and drop its hold
    kCancel,  // cancel it; the write it has claimed drops the hold when done
  };

  // The linger is over: writes the message it held, if still idle.
  void OnLingerDone();
  void OnWriteDone(Stream* stream, bool ok);
  void OnReadDone(Stream* stream, bool ok);
  void OnStreamDone(Stream* stream);
  // Adds a report to the last message waiting to be written on stream (or
  // a new one, if that is full).
  void QueueLocked(Stream& stream, uint64_t id, const ReportFields& report)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // If stream is idle and reports wait, takes the next message to write on
  // it (outside mu_); else null.
  Stream* NextWriteLocked(Stream& stream) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes stream out of service: new reports go on a new stream, its
  // unanswered ones move to failed. The caller passes the result to
  // EndDetached (outside mu_).
  Detach DetachLocked(Stream& stream, std::vector<Failed>& failed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void EndDetached(Stream& stream, Detach detach);
  // A message written (or never to be): keeps it, and its entries, for
  // reuse.
  void RecycleLocked(std::unique_ptr<Outgoing> message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void Fail(std::vector<Failed>& failed, const grpc::Status& status);

  const std::unique_ptr<v1::HerdNode::Stub> stub_;
  GrpcPollers& pollers_;
  const Clock::duration deadline_;
  const Clock::duration linger_;

  Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  // A linger timer is armed (on some event loop); until it fires, reports
  // queue without writing.
  bool lingering_ ABSL_GUARDED_BY(mu_) = false;
  // The stream new reports go on; null until the next Submit opens one.
  Stream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Every stream gRPC is not done with yet, owned here until its OnDone.
  std::vector<std::unique_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
  // Written request messages, emptied, for reuse (no allocation per batch).
  std::vector<std::unique_ptr<Outgoing>> spare_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_REPORT_BATCHER_H_
