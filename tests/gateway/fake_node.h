// A test double of the node for the gateway's tests: records what the
// gateway asks and answers with locations made from the request. On the
// ReportLocations stream, what a client id contains decides what happens to
// its report and its message:
// "slow": the message is answered late (from another thread), so messages
// are answered out of order, "dawdling": after 1.5 s; "refuse": that report
// alone is refused;
// "break": the stream ends at once (UNAVAILABLE), the message unanswered;
// "stuck": the message is never answered. WHATSATs for "slow" clients are
// answered late too, and for "dawdling" ones after 1.5 s. events() tells in
// which order requests arrived and were answered.
#ifndef HERD_TESTS_GATEWAY_FAKE_NODE_H_
#define HERD_TESTS_GATEWAY_FAKE_NODE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/grpc_handoff.h"
#include "herd/v1/herd.grpc.pb.h"

namespace herd::gateway::testing {

// The location every canned answer has, as the client sent it.
inline constexpr char kKiwiCoordinates[] = "+34.068930-118.445127";
inline constexpr char kKiwiTime[] = "1621464827.959498503";

class FakeNode final : public v1::HerdNode::CallbackService {
 public:
  FakeNode() = default;
  FakeNode(const FakeNode&) = delete;
  FakeNode& operator=(const FakeNode&) = delete;
  ~FakeNode() override { JoinLateAnswers(); }

  // Around the server's life: what the test did before it started happens
  // before the handlers, and what they did before what the test does once
  // it has shut down (see GrpcHandoff).
  void Serving() { handoff_.Release(); }
  void ServerStopped() { handoff_.Acquire(); }

  grpc::ServerBidiReactor<v1::ReportLocationsRequest,
                          v1::ReportLocationsResponse>*
  ReportLocations(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* FindNearbyPlaces(
      grpc::CallbackServerContext* context,
      const v1::FindNearbyPlacesRequest* request,
      v1::FindNearbyPlacesResponse* response) override;
  grpc::ServerUnaryReactor* PropagateLocation(
      grpc::CallbackServerContext* context,
      const v1::PropagateLocationRequest* request,
      v1::PropagateLocationResponse* response) override;

  // The location every WHATSAT answer holds, and its index-th place.
  static v1::Location CannedLocation(const std::string& client_id);
  v1::Place CannedPlace(uint32_t index) const;

  // Makes every place name this many bytes longer (for large replies).
  void set_place_name_padding(size_t bytes);

  std::vector<v1::ReportLocationRequest> reports();
  int streams_opened();
  // Largest number of reports seen in one stream message.
  int largest_message();
  std::vector<v1::PropagateLocationRequest> propagations();
  // "report ID" when a report arrives, "reported ID" when its answer is
  // ready to be written, "whatsat ID" when a WHATSAT arrives, "answered ID"
  // when its answer is.
  std::vector<std::string> events();

  // Waits for every late answer to have been given.
  void JoinLateAnswers();

 private:
  // The server end of one ReportLocations stream (see the file's comment).
  class ReportStream;

  static constexpr std::chrono::milliseconds kLateAnswerDelay{30};
  static constexpr std::chrono::milliseconds kDawdlingDelay{1500};

  void Record(const v1::ReportLocationRequest& request);
  void Note(std::string event);
  void NoteAnswered(const std::vector<std::string>& client_ids);
  void AnswerLate(std::function<void()> answer,
                  std::chrono::milliseconds delay = kLateAnswerDelay);
  void Finish(grpc::ServerUnaryReactor* reactor, const std::string& client);

  std::mutex mutex_;
  int streams_opened_ = 0;
  int largest_message_ = 0;
  std::vector<v1::ReportLocationRequest> reports_;
  std::vector<v1::PropagateLocationRequest> propagations_;
  std::vector<std::string> events_;
  std::vector<std::jthread> late_answers_;
  size_t place_name_padding_ = 0;
  GrpcHandoff handoff_;
};

}  // namespace herd::gateway::testing

#endif  // HERD_TESTS_GATEWAY_FAKE_NODE_H_
