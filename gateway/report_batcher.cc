#include "gateway/report_batcher.h"

#include <algorithm>
#include <utility>

#include "common/cq_reactor.h"
#include "common/grpc_status.h"
#include "common/proto_reuse.h"
#include "grpcpp/client_context.h"

namespace herd::gateway {
namespace {

// At most this many reports per message: far below gRPC's 4 MiB message
// limit, and what a busy gateway gathers while one message is written.
constexpr int kMaxReportsPerMessage = 512;
// A message with this many reports is written even while the node has not
// answered the last one (see NextWriteLocked).
constexpr int kPipelinedReports = 8;
// Room for the results of a few dozen reports without a further block.
constexpr size_t kResponseArenaBytes = size_t{32} * 1024;

}  // namespace

// A request message and the entries it has held, kept for reuse.
struct ReportBatcher::Outgoing {
  v1::ReportLocationsRequest message;
  ElementPool<v1::LocationReport> reports;
};

// One ReportLocations stream. A hold keeps gRPC from finishing it while
// reports may still be written on it from outside its reactions; it is
// dropped exactly once, once the batcher has taken the stream out of service
// (and cancelled it) and no write of its is claimed.
class ReportBatcher::Stream final
    : public ClientBidiCall<v1::ReportLocationsRequest,
                            v1::ReportLocationsResponse> {
 public:
  // A report written (or queued) on this stream that has no result yet.
  struct Waiting {
    std::shared_ptr<ReportWaiter> waiter;
    uint64_t tag = 0;
    Clock::time_point submitted;
    bool answered = false;
  };
  // A result taken from a response message, delivered outside the lock.
  struct Answer {
    std::shared_ptr<ReportWaiter> waiter;
    uint64_t tag = 0;
    const v1::LocationReportResult* result = nullptr;
  };

  // Before StartCall, the first read and the hold only queue up, so this
  // may run under the batcher's lock.
  Stream(ReportBatcher& batcher, v1::HerdNode::Stub& stub,
         grpc::CompletionQueue* queue)
      : batcher_(batcher) {
    Bind(stub.PrepareAsyncReportLocations(context(), queue));
    StartRead(response_);
    AddHold();
  }

  // Like every operation below, outside the batcher's lock.
  void Start() { StartCall(); }
  // writing is read before the hand-off: the write's WriteDone moves it.
  void Write() { StartWrite(&writing->message); }
  // Ends the call (a write or read in progress fails at once).
  void Cancel() {
    handoff_.Release();
    context()->TryCancel();
  }
  // Lets gRPC finish the stream (and Done free it) once its operations are
  // done; nothing may touch it after.
  void DropHold() { RemoveHold(); }

  // Moves the waiter of every result of the response just read into
  // answers_ (under the batcher's lock), then delivers them (outside it).
  void TakeAnswersLocked() {
    for (const v1::LocationReportResult& result : response_->results()) {
      const uint64_t id = result.request_id();
      // Ids no report of ours has, or has still, are ignored: the deadline
      // catches anything never answered.
      if (id < first_id || id - first_id >= waiting.size()) continue;
      Waiting& entry = waiting[id - first_id];
      if (entry.answered) continue;
      entry.answered = true;
      answers_.push_back({std::move(entry.waiter), entry.tag, &result});
    }
    while (!waiting.empty() && waiting.front().answered) {
      waiting.pop_front();
      ++first_id;
    }
  }
  void DeliverAnswersAndReadOn() {
    for (Answer& answer : answers_) {
      if (answer.result->code() == 0) {
        answer.waiter->OnReportDone(answer.tag, grpc::Status::OK,
                                    &answer.result->response());
      } else {
        answer.waiter->OnReportDone(
            answer.tag,
            GrpcStatusFromCode(answer.result->code(),
                               answer.result->error_message()),
            nullptr);
      }
    }
    answers_.clear();
    response_ = arena_.NewMessage<v1::ReportLocationsResponse>();
    // Nothing here touches response_ after the hand-off (ReadDone reads it).
    StartRead(response_);
  }

  // Whether the next message to write holds at least this many reports (a
  // message is only followed by another once it is full). Under the
  // batcher's mu_, with something queued.
  bool NextHolds(int reports) const {
    return queued.size() > 1 ||
           queued.front()->message.reports_size() >= reports;
  }

  // Guarded by the batcher's mu_. Request ids are first_id, first_id + 1,
  // ... in submission order; waiting[i] is first_id + i.
  std::deque<Waiting> waiting;
  uint64_t first_id = 0;
  // Filled messages not yet written, oldest first.
  std::deque<std::unique_ptr<Outgoing>> queued;
  // Messages written whose response has not been read yet (the node answers
  // each message with one response, in order).
  int unanswered = 0;
  // The message being written (one at a time).
  std::unique_ptr<Outgoing> writing;
  bool detached = false;

 private:
  void OnWriteDone(bool ok) override { batcher_.OnWriteDone(this, ok); }
  void OnReadDone(bool ok) override { batcher_.OnReadDone(this, ok); }
  void OnDone(const grpc::Status& /*status*/) override {
    batcher_.OnStreamDone(this);
  }

  ReportBatcher& batcher_;
  // Only the read reactions touch these, one at a time.
  ParseArena arena_{kResponseArenaBytes};
  v1::ReportLocationsResponse* response_ =
      arena_.NewMessage<v1::ReportLocationsResponse>();
  std::vector<Answer> answers_;
};

ReportBatcher::ReportBatcher(const std::shared_ptr<grpc::Channel>& channel,
                             GrpcPollers& pollers, Clock::duration deadline,
                             Clock::duration linger)
    : stub_(v1::HerdNode::NewStub(channel)),
      pollers_(pollers),
      deadline_(deadline),
      linger_(linger) {}

ReportBatcher::~ReportBatcher() { Shutdown(); }

void ReportBatcher::Submit(std::shared_ptr<ReportWaiter> waiter, uint64_t tag,
                           const ReportFields& report,
                           boost::asio::steady_timer& linger_timer) {
  Stream* to_start = nullptr;
  Stream* write_on = nullptr;
  bool arm_linger = false;
  std::shared_ptr<ReportWaiter> refused;
  {
    MutexLock lock(&mu_);
    if (shut_down_) {
      refused = std::move(waiter);
    } else {
      if (stream_ == nullptr) {
        streams_.push_back(
            std::make_unique<Stream>(*this, *stub_, pollers_.NextQueue()));
        stream_ = streams_.back().get();
        to_start = stream_;
      }
      Stream& stream = *stream_;
      const uint64_t id = stream.first_id + stream.waiting.size();
      stream.waiting.push_back(
          {std::move(waiter), tag, Clock::now(), /*answered=*/false});
      QueueLocked(stream, id, report);
      // Linger only with the stream idle and the message not yet full: a
      // write in flight already gathers the next message, and its
      // completion writes it.
      if (linger_ > Clock::duration::zero() && stream.writing == nullptr &&
          !stream.NextHolds(kMaxReportsPerMessage)) {
        arm_linger = !lingering_;
        lingering_ = true;
      } else {
        write_on = NextWriteLocked(stream);
      }
    }
  }
  if (refused != nullptr) {
    refused->OnReportDone(
        tag,
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "the gateway is stopping"),
        nullptr);
    return;
  }
  if (to_start != nullptr) to_start->Start();
  if (write_on != nullptr) write_on->Write();
  if (arm_linger) {
    // This thread's timer, not armed before: lingering_ was false.
    linger_timer.expires_after(linger_);
    linger_timer.async_wait([this](const boost::system::error_code& error) {
      // Aborted only when the event loop is torn down.
      if (!error) OnLingerDone();
    });
  }
}

void ReportBatcher::OnLingerDone() {
  Stream* write_on = nullptr;
  {
    MutexLock lock(&mu_);
    lingering_ = false;
    if (stream_ != nullptr) write_on = NextWriteLocked(*stream_);
  }
  if (write_on != nullptr) write_on->Write();
}

void ReportBatcher::QueueLocked(Stream& stream, uint64_t id,
                                const ReportFields& report) {
  if (stream.queued.empty() ||
      stream.queued.back()->message.reports_size() >= kMaxReportsPerMessage) {
    if (spare_.empty()) {
      stream.queued.push_back(std::make_unique<Outgoing>());
    } else {
      stream.queued.push_back(std::move(spare_.back()));
      spare_.pop_back();
    }
  }
  // A reused entry (its strings keep their capacity): every field is set
  // again.
  Outgoing& message = *stream.queued.back();
  v1::LocationReport* entry =
      message.reports.Append(message.message.mutable_reports());
  entry->set_request_id(id);
  v1::ReportLocationRequest* fields = entry->mutable_report();
  fields->set_client_id(report.client_id.data(), report.client_id.size());
  fields->set_coordinates_text(report.coordinates_text.data(),
                               report.coordinates_text.size());
  fields->set_client_time_text(report.client_time_text.data(),
                               report.client_time_text.size());
  *fields->mutable_received_at() = report.received_at;
}

ReportBatcher::Stream* ReportBatcher::NextWriteLocked(Stream& stream) {
  if (stream.writing != nullptr || stream.queued.empty() || stream.detached) {
    return nullptr;
  }
  // While the node works on a message, the next one fills (Nagle's rule, a
  // message for a segment): at low load a report finds nothing unanswered
  // and goes at once; under load messages grow with the node's own latency,
  // and no timer is needed. One big enough goes regardless, so that at
  // saturation the gateway and the node still work side by side.
  if (stream.unanswered > 0 && !stream.NextHolds(kPipelinedReports)) {
    return nullptr;
  }
  ++stream.unanswered;
  stream.writing = std::move(stream.queued.front());
  stream.queued.pop_front();
  return &stream;
}

void ReportBatcher::OnWriteDone(Stream* stream, bool ok) {
  Stream* write_on = nullptr;
  bool close = false;
  std::vector<Failed> failed;
  {
    MutexLock lock(&mu_);
    RecycleLocked(std::move(stream->writing));
    if (stream->detached) {
      close = true;  // detached while this write was claimed
    } else if (!ok) {
      DetachLocked(*stream, failed);
      close = true;
    } else {
      write_on = NextWriteLocked(*stream);
    }
  }
  if (write_on != nullptr) write_on->Write();
  Fail(failed, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "the ReportLocations stream to the node broke"));
  // Last: closing may end the stream and free it.
  if (close) {
    stream->Cancel();
    stream->DropHold();
  }
}

void ReportBatcher::OnReadDone(Stream* stream, bool ok) {
  if (ok) {
    Stream* write_on = nullptr;
    {
      MutexLock lock(&mu_);
      stream->TakeAnswersLocked();
      stream->unanswered = std::max(stream->unanswered - 1, 0);
      write_on = NextWriteLocked(*stream);
    }
    stream->DeliverAnswersAndReadOn();
    if (write_on != nullptr) write_on->Write();
    return;
  }
  Detach detach = Detach::kNone;
  std::vector<Failed> failed;
  {
    MutexLock lock(&mu_);
    detach = DetachLocked(*stream, failed);
  }
  Fail(failed, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "the ReportLocations stream to the node ended"));
  EndDetached(*stream, detach);
}

void ReportBatcher::OnStreamDone(Stream* stream) {
  std::vector<Failed> failed;
  {
    MutexLock lock(&mu_);
    // Normally detached already (its last read failed first).
    DetachLocked(*stream, failed);
    auto it = std::find_if(streams_.begin(), streams_.end(),
                           [stream](const std::unique_ptr<Stream>& s) {
                             return s.get() == stream;
                           });
    // Destroyed under mu_: Shutdown() returns (and this batcher and its
    // channel go) only once the stream's teardown, which drops the stream's
    // own reference to the channel, is over.
    streams_.erase(it);
  }
  Fail(failed, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "the ReportLocations stream to the node ended"));
}

ReportBatcher::Detach ReportBatcher::DetachLocked(Stream& stream,
                                                  std::vector<Failed>& failed) {
  if (stream.detached) return Detach::kNone;
  stream.detached = true;
  if (stream_ == &stream) stream_ = nullptr;
  for (Stream::Waiting& entry : stream.waiting) {
    if (!entry.answered) failed.push_back({std::move(entry.waiter), entry.tag});
  }
  stream.first_id += stream.waiting.size();
  stream.waiting.clear();
  for (auto& message : stream.queued) RecycleLocked(std::move(message));
  stream.queued.clear();
  // A claimed write must still start on it: OnWriteDone closes it then.
  return stream.writing != nullptr ? Detach::kCancel : Detach::kClose;
}

void ReportBatcher::RecycleLocked(std::unique_ptr<Outgoing> message) {
  message->reports.Reclaim(message->message.mutable_reports());
  spare_.push_back(std::move(message));
}

void ReportBatcher::EndDetached(Stream& stream, Detach detach) {
  if (detach == Detach::kNone) return;
  stream.Cancel();
  if (detach == Detach::kClose) stream.DropHold();
}

void ReportBatcher::Fail(std::vector<Failed>& failed,
                         const grpc::Status& status) {
  for (Failed& entry : failed) {
    entry.waiter->OnReportDone(entry.tag, status, nullptr);
  }
  failed.clear();
}

void ReportBatcher::ExpireOverdue() {
  Stream* stuck = nullptr;
  Detach detach = Detach::kNone;
  std::vector<Failed> failed;
  {
    MutexLock lock(&mu_);
    if (stream_ != nullptr && !stream_->waiting.empty() &&
        Clock::now() - stream_->waiting.front().submitted > deadline_) {
      stuck = stream_;
      detach = DetachLocked(*stuck, failed);
    }
  }
  Fail(failed, grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                            "the node did not answer in time"));
  if (stuck != nullptr) EndDetached(*stuck, detach);
}

void ReportBatcher::Shutdown() {
  Stream* current = nullptr;
  Detach detach = Detach::kNone;
  std::vector<Failed> failed;
  {
    MutexLock lock(&mu_);
    shut_down_ = true;
    current = stream_;
    if (current != nullptr) detach = DetachLocked(*current, failed);
  }
  Fail(failed,
       grpc::Status(grpc::StatusCode::UNAVAILABLE, "the gateway is stopping"));
  if (current != nullptr) EndDetached(*current, detach);
  MutexLock lock(&mu_);
  // Cancelled streams end promptly; the deadline bounds the wait anyway.
  mu_.AwaitWithTimeout(
      [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return streams_.empty(); },
      deadline_ + std::chrono::seconds(1));
}

}  // namespace herd::gateway
