#include "herdnode/mesh/propagate_stream.h"

#include <utility>

#include "common/grpc_status.h"
#include "common/status_text.h"
#include "fmt/format.h"
#include "herdnode/mesh/location_check.h"

namespace herd {
namespace {

class PropagateStreamCall final
    : public ServerBidiCall<v1::PropagateLocationsRequest,
                            v1::PropagateLocationsResponse> {
 public:
  PropagateStreamCall(v1::HerdNode::AsyncService& service,
                      const StreamAuthorizer& authorize, Flooder& flooder,
                      std::shared_ptr<spdlog::logger> log)
      : service_(service),
        authorize_(authorize),
        flooder_(flooder),
        log_(std::move(log)) {}

 private:
  void RequestCall(grpc::ServerCompletionQueue* queue,
                   CompletionTag* tag) override {
    service_.RequestPropagateLocations(&context(), stream(), queue, queue, tag);
  }
  void Begin() override { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      EndOfStream();
      return;
    }
    if (link_ == nullptr) {
      absl::StatusOr<std::shared_ptr<PeerLink>> link =
          authorize_(context(), request_.from_server());
      if (!link.ok()) {
        Finish(ToGrpcStatus(link.status()));
        return;
      }
      link_ = *std::move(link);
      from_ = request_.from_server();
      log_->info("peer {} IN PropagateLocations stream opened", from_);
    } else if (request_.from_server() != from_) {
      Finish(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          fmt::format("from_server changed from '{}' to '{}' within a stream",
                      from_, request_.from_server())));
      return;
    }
    if (!link_->CountReceived(
            static_cast<uint64_t>(request_.locations_size()))) {
      log_->warn(
          "peer {} IN PropagateLocations stream refused: no longer "
          "linked",
          from_);
      Finish(grpc::Status(
          grpc::StatusCode::PERMISSION_DENIED,
          fmt::format("server '{}' is no longer linked to this one", from_)));
      return;
    }
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
          [this](const absl::Status& /*durable*/) { StartRead(&request_); });
      return;
    }
    StartRead(&request_);
  }

  void EndOfStream() {
    if (IsCancelled()) {
      // The peer or the server went away: nobody reads the answer.
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
      return;
    }
    flooder_.AfterDurable([this](const absl::Status& durable) {
      if (!durable.ok()) {
        Finish(grpc::Status(
            grpc::StatusCode::UNAVAILABLE,
            "updates not acknowledged: " + StatusMessage(durable)));
        return;
      }
      response_.set_updates_received(received_);
      StartWriteAndFinish(&response_, grpc::Status::OK);
    });
  }

  v1::HerdNode::AsyncService& service_;
  const StreamAuthorizer& authorize_;  // the factory's, which outlives calls
  Flooder& flooder_;
  const std::shared_ptr<spdlog::logger> log_;
  // Only the read reactions (and then the end of the stream) touch these,
  // one at a time.
  v1::PropagateLocationsRequest request_;
  // Set once the first message is authorized.
  std::shared_ptr<PeerLink> link_;
  std::string from_;
  uint64_t received_ = 0;
  v1::PropagateLocationsResponse response_;
};

}  // namespace

ServerCalls::Factory PropagateStreamCalls(v1::HerdNode::AsyncService& service,
                                          StreamAuthorizer authorize,
                                          Flooder& flooder,
                                          std::shared_ptr<spdlog::logger> log) {
  return [&service, authorize = std::move(authorize), &flooder,
          log = std::move(log)]() -> std::unique_ptr<ServerCallBase> {
    return std::make_unique<PropagateStreamCall>(service, authorize, flooder,
                                                 log);
  };
}

}  // namespace herd
