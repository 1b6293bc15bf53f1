#include "herdnode/propagate_stream.h"

#include <utility>

#include "fmt/format.h"
#include "herdnode/handoff_stream.h"
#include "herdnode/location_check.h"
#include "herdnode/status_text.h"

namespace herd {
namespace {

class PropagateStreamReactor final
    : public HandoffServerStream<v1::PropagateLocationsRequest,
                                 v1::PropagateLocationsResponse> {
 public:
  PropagateStreamReactor(grpc::CallbackServerContext* context,
                         StreamAuthorizer authorize, Flooder& flooder,
                         std::shared_ptr<spdlog::logger> log)
      : context_(context),
        authorize_(std::move(authorize)),
        flooder_(flooder),
        log_(std::move(log)) {}

  void Begin() {
    HandOffRead(&request_);
    HandOffReactor();
  }

 private:
  void ReadDone(bool ok) override {
    if (!ok) {
      EndOfStream();
      return;
    }
    if (link_ == nullptr) {
      absl::StatusOr<PeerLink*> link = authorize_(request_.from_server());
      if (!link.ok()) {
        HandOffFinish(
            grpc::Status(static_cast<grpc::StatusCode>(link.status().code()),
                         StatusMessage(link.status())));
        return;
      }
      link_ = *link;
      from_ = request_.from_server();
      log_->info("peer {} IN PropagateLocations stream opened", from_);
    } else if (request_.from_server() != from_) {
      HandOffFinish(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          fmt::format("from_server changed from '{}' to '{}' within a stream",
                      from_, request_.from_server())));
      return;
    }
    link_->CountReceived(static_cast<uint64_t>(request_.locations_size()));
    // The batch goes on to each peer as one message too.
    Flooder::Batch batch(flooder_);
    for (const v1::Location& location : request_.locations()) {
      log_->info("peer {} IN PropagateLocation {} {}", from_,
                 location.client_id(), location.client_time_text());
      if (absl::Status valid = CheckPeerLocation(location); !valid.ok()) {
        // One bad update does not cost the peer its stream (and its link):
        // the rest of the batch is fine.
        log_->warn("peer {} PropagateLocation rejected: {}", from_,
                   StatusMessage(valid));
        continue;
      }
      // Journaled as it is accepted; nothing waits here for the disk.
      batch.Flood(location, from_);
    }
    received_ += static_cast<uint64_t>(request_.locations_size());
    if (flooder_.JournalBehind()) {
      // Reading on would only queue more for the disk. Unread, the next
      // batches wait in HTTP/2's flow-control window and then at the
      // sender, whose queue keeps each client's newest once it is long.
      flooder_.AfterDurable(
          [this](const absl::Status& /*durable*/) { HandOffRead(&request_); });
      return;
    }
    HandOffRead(&request_);
  }

  void EndOfStream() {
    if (context_->IsCancelled()) {
      // The peer or the server went away: nobody reads the answer.
      HandOffFinish(
          grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
      return;
    }
    flooder_.AfterDurable([this](const absl::Status& durable) {
      if (!durable.ok()) {
        HandOffFinish(grpc::Status(
            grpc::StatusCode::UNAVAILABLE,
            "updates not acknowledged: " + StatusMessage(durable)));
        return;
      }
      response_.set_updates_received(received_);
      HandOffWriteAndFinish(&response_, grpc::Status::OK);
    });
  }

  grpc::CallbackServerContext* const context_;
  StreamAuthorizer authorize_;
  Flooder& flooder_;
  const std::shared_ptr<spdlog::logger> log_;
  // Only the read reactions (and then the end of the stream) touch these,
  // one at a time.
  v1::PropagateLocationsRequest request_;
  PeerLink* link_ = nullptr;  // set once the first message is authorized
  std::string from_;
  uint64_t received_ = 0;
  v1::PropagateLocationsResponse response_;
};

}  // namespace

grpc::ServerBidiReactor<v1::PropagateLocationsRequest,
                        v1::PropagateLocationsResponse>*
ServePropagateStream(grpc::CallbackServerContext* context,
                     StreamAuthorizer authorize, Flooder& flooder,
                     std::shared_ptr<spdlog::logger> log) {
  auto reactor = std::make_unique<PropagateStreamReactor>(
      context, std::move(authorize), flooder, std::move(log));
  reactor->Begin();
  return reactor.release();  // freed in OnDone
}

}  // namespace herd
