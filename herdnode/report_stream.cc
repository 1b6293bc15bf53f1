#include "herdnode/report_stream.h"

#include <deque>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "common/proto_reuse.h"
#include "common/status_text.h"
#include "herdnode/mesh/location_check.h"

namespace herd {
namespace {

// Room for a few dozen reports without a further block.
constexpr size_t kRequestArenaBytes = size_t{16} * 1024;

class ReportStreamCall final
    : public ServerBidiCall<v1::ReportLocationsRequest,
                            v1::ReportLocationsResponse> {
 public:
  ReportStreamCall(v1::HerdNode::AsyncService& service,
                   const std::string& self_name,
                   uint32_t max_client_time_ahead_seconds, Flooder& flooder,
                   std::shared_ptr<spdlog::logger> log)
      : service_(service),
        self_name_(self_name),
        max_client_time_ahead_seconds_(max_client_time_ahead_seconds),
        flooder_(flooder),
        log_(std::move(log)) {}

  void Begin() override {
    log_->info("client IN ReportLocations stream opened");
    ReadNext();
  }

 private:
  void RequestCall(grpc::ServerCompletionQueue* queue,
                   CompletionTag* tag) override {
    service_.RequestReportLocations(&context(), stream(), queue, queue, tag);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      EndOfRequests();
      return;
    }
    Batch* batch = NewBatch();
    // The reports go on to each peer as one message.
    Flooder::Batch flood(flooder_);
    for (const v1::LocationReport& report : request_->reports()) {
      v1::LocationReportResult* result =
          batch->results.Append(batch->response.mutable_results());
      // A reused result: every field is set again.
      result->set_request_id(report.request_id());
      result->set_code(0);
      result->clear_error_message();
      v1::Location* location = result->mutable_response()->mutable_location();
      if (absl::Status valid =
              LocationFromReport(report.report(), self_name_,
                                 max_client_time_ahead_seconds_, location);
          !valid.ok()) {
        Refuse(*result, valid);
        continue;
      }
      {
        MutexLock lock(&mu_);
        ++batch->waiting;
      }
      // Runs at once without a journal; with one, once the update is
      // durable. Two pointers: small enough to need no allocation.
      flood.Flood(*location, "",
                  [batch, result](v1::UpdateOutcome outcome,
                                  const absl::Status& durable) {
                    if (durable.ok()) {
                      result->mutable_response()->set_outcome(outcome);
                    } else {
                      Refuse(*result, absl::UnavailableError(
                                          "update not acknowledged: " +
                                          StatusMessage(durable)));
                    }
                    batch->stream->OneAnswered(batch);
                  });
    }
    // Read the next message only now: reports of one stream are flooded in
    // the order the gateway sent them.
    ReadNext();
    OneAnswered(batch);  // the guard NewBatch took
  }

  void OnWriteDone(bool ok) override {
    {
      MutexLock lock(&mu_);
      writing_ = false;
      RecycleFrontLocked();
      // The gateway is gone: nobody reads the rest.
      if (!ok) broken_ = true;
    }
    WriteOrFinish();
  }

  void OnDone() override { log_->info("client ReportLocations stream closed"); }

  // Reads the next message into a fresh one (the last one's reports have
  // been copied into results and floods: nothing refers to it).
  void ReadNext() {
    request_ = read_arena_.NewMessage<v1::ReportLocationsRequest>();
    // Nothing here touches request_ after the hand-off (ReadDone reads it).
    StartRead(request_);
  }

  // One request message's results; complete once waiting reaches 0.
  struct Batch {
    ReportStreamCall* stream = nullptr;
    v1::ReportLocationsResponse response;
    // The results of earlier batches, Locations and all, for reuse.
    ElementPool<v1::LocationReportResult> results;
    int waiting = 0;  // guarded by the call's mu_
  };

  static void Refuse(v1::LocationReportResult& result,
                     const absl::Status& why) {
    result.set_code(static_cast<int32_t>(why.code()));
    result.set_error_message(StatusMessage(why));
    result.clear_response();
  }

  // A batch at the back of the answer queue, holding one guard (so it is
  // not written before every report of the message has been flooded).
  // Reuses the response messages of batches already written.
  Batch* NewBatch() {
    MutexLock lock(&mu_);
    std::unique_ptr<Batch> batch;
    if (spare_.empty()) {
      batch = std::make_unique<Batch>();
      batch->stream = this;
    } else {
      batch = std::move(spare_.back());
      spare_.pop_back();
    }
    batch->waiting = 1;
    answering_.push_back(std::move(batch));
    return answering_.back().get();
  }

  // The oldest batch is written (or will never be): keep it for reuse.
  void RecycleFrontLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Batch& batch = *answering_.front();
    batch.results.Reclaim(batch.response.mutable_results());
    spare_.push_back(std::move(answering_.front()));
    answering_.pop_front();
  }

  void OneAnswered(Batch* batch) {
    {
      MutexLock lock(&mu_);
      if (--batch->waiting > 0) return;
    }
    WriteOrFinish();
  }

  void EndOfRequests() {
    {
      MutexLock lock(&mu_);
      reads_done_ = true;
    }
    WriteOrFinish();
  }

  // Writes the oldest batch if it is complete and nothing is being written;
  // finishes once the gateway has stopped sending and everything is
  // answered (never earlier: flood callbacks still point into this).
  void WriteOrFinish() {
    const v1::ReportLocationsResponse* to_write = nullptr;
    bool finish = false;
    {
      MutexLock lock(&mu_);
      if (writing_ || finished_) return;
      while (broken_ && !answering_.empty() &&
             answering_.front()->waiting == 0) {
        RecycleFrontLocked();
      }
      if (!answering_.empty() && answering_.front()->waiting == 0) {
        writing_ = true;
        to_write = &answering_.front()->response;
      } else if (reads_done_ && answering_.empty()) {
        finished_ = true;
        finish = true;
      }
    }
    if (to_write != nullptr) {
      StartWrite(to_write);
    } else if (finish) {
      grpc::Status status =
          IsCancelled()
              ? grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled")
              : grpc::Status::OK;
      Finish(std::move(status));
    }
  }

  v1::HerdNode::AsyncService& service_;
  const std::string& self_name_;  // the factory's, which outlives calls
  const uint32_t max_client_time_ahead_seconds_;
  Flooder& flooder_;
  const std::shared_ptr<spdlog::logger> log_;
  // Only the read reactions touch these, one at a time.
  ParseArena read_arena_{kRequestArenaBytes};
  v1::ReportLocationsRequest* request_ = nullptr;

  Mutex mu_;
  // Request messages not yet answered, oldest first.
  std::deque<std::unique_ptr<Batch>> answering_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Batch>> spare_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

ServerCalls::Factory ReportStreamCalls(v1::HerdNode::AsyncService& service,
                                       std::string self_name,
                                       uint32_t max_client_time_ahead_seconds,
                                       Flooder& flooder,
                                       std::shared_ptr<spdlog::logger> log) {
  return [&service, self_name = std::move(self_name),
          max_client_time_ahead_seconds, &flooder,
          log = std::move(log)]() -> std::unique_ptr<ServerCallBase> {
    return std::make_unique<ReportStreamCall>(
        service, self_name, max_client_time_ahead_seconds, flooder, log);
  };
}

}  // namespace herd
