#include "herdnode/propagate_stream.h"

#include <utility>

#include "fmt/format.h"
#include "herdnode/grpc_handoff.h"
#include "herdnode/location_check.h"
#include "herdnode/status_text.h"

namespace herd {
namespace {

class PropagateStreamReactor final
    : public grpc::ServerBidiReactor<v1::PropagateLocationsRequest,
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
    Read();
    // Until gRPC binds this reactor (when the handler returns it), StartRead
    // only records the wish in the reactor itself: released again after.
    handoff_.Release();
  }

  void OnReadDone(bool ok) override {
    GrpcReaction reaction(handoff_);
    if (!ok) {
      EndOfStream();
      return;
    }
    if (link_ == nullptr) {
      absl::StatusOr<PeerLink*> link = authorize_(request_.from_server());
      if (!link.ok()) {
        FinishNow(
            grpc::Status(static_cast<grpc::StatusCode>(link.status().code()),
                         StatusMessage(link.status())));
        return;
      }
      link_ = *link;
      from_ = request_.from_server();
      log_->info("peer {} IN PropagateLocations stream opened", from_);
    } else if (request_.from_server() != from_) {
      FinishNow(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          fmt::format("from_server changed from '{}' to '{}' within a stream",
                      from_, request_.from_server())));
      return;
    }
    link_->CountReceived(static_cast<uint64_t>(request_.locations_size()));
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
      flooder_.Flood(location, from_);
    }
    received_ += static_cast<uint64_t>(request_.locations_size());
    if (flooder_.JournalBehind()) {
      // Reading on would only queue more for the disk. Unread, the next
      // batches wait in HTTP/2's flow-control window and then at the
      // sender, whose queue keeps each client's newest once it is long.
      flooder_.AfterDurable(
          [this](const absl::Status& /*durable*/) { Read(); });
      return;
    }
    Read();
  }

  void OnWriteDone(bool /*ok*/) override {
    // The only write is StartWriteAndFinish's: OnDone follows.
    GrpcReaction reaction(handoff_);
  }

  void OnDone() override {
    handoff_.Acquire();
    // gRPC is done with this reactor: it owned itself until now.
    std::unique_ptr<PropagateStreamReactor> self(this);
  }

 private:
  // Every operation handed to gRPC goes through these (see GrpcHandoff).
  void Read() {
    handoff_.Release();
    StartRead(&request_);
  }
  void FinishNow(grpc::Status status) {
    handoff_.Release();
    Finish(std::move(status));
  }

  void EndOfStream() {
    if (context_->IsCancelled()) {
      // The peer or the server went away: nobody reads the answer.
      FinishNow(grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
      return;
    }
    flooder_.AfterDurable([this](const absl::Status& durable) {
      if (!durable.ok()) {
        FinishNow(grpc::Status(
            grpc::StatusCode::UNAVAILABLE,
            "updates not acknowledged: " + StatusMessage(durable)));
        return;
      }
      response_.set_updates_received(received_);
      handoff_.Release();
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    });
  }

  grpc::CallbackServerContext* const context_;
  GrpcHandoff handoff_;
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
