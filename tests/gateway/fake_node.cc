#include "tests/gateway/fake_node.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <utility>

#include "common/location_text.h"
#include "fmt/format.h"
#include "handoff_stream.h"

namespace herd::gateway::testing {

class FakeNode::ReportStream final
    : public HandoffServerStream<v1::ReportLocationsRequest,
                                 v1::ReportLocationsResponse> {
 public:
  explicit ReportStream(FakeNode& node) : node_(node) {
    HandOffRead(&request_);
    HandOffReactor();
  }

 private:
  void ReadDone(bool ok) override {
    if (!ok) {
      {
        std::lock_guard lock(mutex_);
        reads_done_ = true;
      }
      Pump();
      return;
    }
    v1::ReportLocationsResponse response;
    std::vector<std::string> answered;
    bool slow = false;
    bool dawdling = false;
    bool stuck = false;
    bool broken = false;
    {
      std::lock_guard lock(node_.mutex_);
      node_.largest_message_ =
          std::max(node_.largest_message_, request_.reports_size());
    }
    for (const v1::LocationReport& report : request_.reports()) {
      const std::string& id = report.report().client_id();
      node_.Record(report.report());
      slow = slow || id.find("slow") != std::string::npos;
      dawdling = dawdling || id.find("dawdling") != std::string::npos;
      stuck = stuck || id.find("stuck") != std::string::npos;
      broken = broken || id.find("break") != std::string::npos;
      v1::LocationReportResult* result = response.add_results();
      result->set_request_id(report.request_id());
      if (id.find("refuse") != std::string::npos) {
        result->set_code(grpc::StatusCode::INVALID_ARGUMENT);
        result->set_error_message("refused by the fake node");
        continue;
      }
      *result->mutable_response() = Answer(report.report());
      answered.push_back(id);
    }
    {
      std::lock_guard lock(mutex_);
      if (broken) {
        breaking_ = true;
      } else if (!stuck && (slow || dawdling)) {
        ++late_;
        node_.AnswerLate(
            [this, response = std::move(response),
             answered = std::move(answered)]() mutable {
              {
                std::lock_guard late_lock(mutex_);
                --late_;
                if (!breaking_) {
                  node_.NoteAnswered(answered);
                  queue_.push_back(std::move(response));
                }
              }
              Pump();
            },
            dawdling ? kDawdlingDelay : kLateAnswerDelay);
      } else if (!stuck) {
        node_.NoteAnswered(answered);
        queue_.push_back(std::move(response));
      }
    }
    if (!broken) HandOffRead(&request_);
    Pump();
  }

  void WriteDone(bool /*ok*/) override {
    {
      std::lock_guard lock(mutex_);
      writing_ = false;
      queue_.pop_front();
    }
    Pump();
  }

  static v1::ReportLocationResponse Answer(
      const v1::ReportLocationRequest& request) {
    v1::ReportLocationResponse response;
    v1::Location& location = *response.mutable_location();
    location.set_client_id(request.client_id());
    location.set_coordinates_text(request.coordinates_text());
    location.set_client_time_text(request.client_time_text());
    *location.mutable_client_time() =
        ParseClientTime(request.client_time_text()).value();
    location.set_origin_server("Hamilton");
    *location.mutable_server_time() = request.received_at();
    response.set_outcome(v1::UPDATE_OUTCOME_ACCEPTED);
    return response;
  }

  // Writes the next queued answer, or finishes once nothing is being
  // written or answered late and either the gateway is done or a "break"
  // asked for it. gRPC may run reactions inline, so it acts unlocked.
  void Pump() {
    const v1::ReportLocationsResponse* to_write = nullptr;
    std::optional<grpc::Status> finish;
    {
      std::lock_guard lock(mutex_);
      if (finished_ || writing_) return;
      if (!queue_.empty() && !breaking_) {
        writing_ = true;
        to_write = &queue_.front();
      } else if (late_ == 0 && breaking_) {
        finish = grpc::Status(grpc::StatusCode::UNAVAILABLE, "fake break");
      } else if (late_ == 0 && reads_done_ && queue_.empty()) {
        finish = grpc::Status::OK;
      }
      finished_ = finish.has_value();
    }
    if (to_write != nullptr) HandOffWrite(to_write);
    if (finish.has_value()) HandOffFinish(*finish);
  }

  FakeNode& node_;
  v1::ReportLocationsRequest request_;
  std::mutex mutex_;
  std::deque<v1::ReportLocationsResponse> queue_;
  bool writing_ = false;
  bool reads_done_ = false;
  bool breaking_ = false;
  bool finished_ = false;
  int late_ = 0;
};

grpc::ServerBidiReactor<v1::ReportLocationsRequest,
                        v1::ReportLocationsResponse>*
FakeNode::ReportLocations(grpc::CallbackServerContext* /*context*/) {
  GrpcReaction handler(handoff_);
  {
    std::lock_guard lock(mutex_);
    ++streams_opened_;
  }
  // Owns itself until OnDone.
  return std::make_unique<ReportStream>(*this).release();
}

grpc::ServerUnaryReactor* FakeNode::FindNearbyPlaces(
    grpc::CallbackServerContext* context,
    const v1::FindNearbyPlacesRequest* request,
    v1::FindNearbyPlacesResponse* response) {
  GrpcReaction handler(handoff_);
  Note("whatsat " + request->client_id());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->client_id() == "unknown") {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such"));
    return reactor;
  }
  *response->mutable_location() = CannedLocation(request->client_id());
  for (uint32_t i = 0; i < request->max_results(); ++i) {
    *response->add_places() = CannedPlace(i);
  }
  Finish(reactor, request->client_id());
  return reactor;
}

grpc::ServerUnaryReactor* FakeNode::PropagateLocation(
    grpc::CallbackServerContext* context,
    const v1::PropagateLocationRequest* request,
    v1::PropagateLocationResponse* response) {
  GrpcReaction handler(handoff_);
  {
    std::lock_guard lock(mutex_);
    propagations_.push_back(*request);
  }
  response->set_outcome(v1::UPDATE_OUTCOME_ACCEPTED);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

v1::Location FakeNode::CannedLocation(const std::string& client_id) {
  v1::Location location;
  location.set_client_id(client_id);
  location.set_coordinates_text(kKiwiCoordinates);
  location.set_client_time_text(kKiwiTime);
  location.mutable_client_time()->set_seconds(1621464827);
  location.mutable_client_time()->set_nanos(959498503);
  location.set_origin_server("Parker");
  location.mutable_server_time()->set_seconds(1621464828);
  location.mutable_server_time()->set_nanos(1);
  return location;
}

v1::Place FakeNode::CannedPlace(uint32_t index) const {
  v1::Place place;
  place.set_place_id(fmt::format("place-{}", index));
  place.set_name(
      fmt::format("Place {} {}", index, std::string(place_name_padding_, 'n')));
  place.set_latitude(34.0 + index / 100.0);
  place.set_longitude(-118.4);
  place.set_vicinity("Westwood");
  place.add_types("point_of_interest");
  return place;
}

void FakeNode::set_place_name_padding(size_t bytes) {
  place_name_padding_ = bytes;
  handoff_.Release();  // read by handlers of calls made after this
}

std::vector<v1::ReportLocationRequest> FakeNode::reports() {
  std::lock_guard lock(mutex_);
  return reports_;
}

int FakeNode::streams_opened() {
  std::lock_guard lock(mutex_);
  return streams_opened_;
}

int FakeNode::largest_message() {
  std::lock_guard lock(mutex_);
  return largest_message_;
}

std::vector<v1::PropagateLocationRequest> FakeNode::propagations() {
  std::lock_guard lock(mutex_);
  return propagations_;
}

std::vector<std::string> FakeNode::events() {
  std::lock_guard lock(mutex_);
  return events_;
}

void FakeNode::JoinLateAnswers() {
  for (;;) {
    std::vector<std::jthread> late;
    {
      std::lock_guard lock(mutex_);
      if (late_answers_.empty()) return;
      late.swap(late_answers_);
    }
    late.clear();  // joins
  }
}

void FakeNode::Record(const v1::ReportLocationRequest& request) {
  std::lock_guard lock(mutex_);
  reports_.push_back(request);
  events_.push_back("report " + request.client_id());
}

void FakeNode::Note(std::string event) {
  std::lock_guard lock(mutex_);
  events_.push_back(std::move(event));
}

void FakeNode::NoteAnswered(const std::vector<std::string>& client_ids) {
  for (const std::string& id : client_ids) Note("reported " + id);
}

void FakeNode::AnswerLate(std::function<void()> answer,
                          std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  late_answers_.emplace_back([answer = std::move(answer), delay] {
    std::this_thread::sleep_for(delay);
    answer();
  });
}

void FakeNode::Finish(grpc::ServerUnaryReactor* reactor,
                      const std::string& client) {
  const bool dawdling = client.find("dawdling") != std::string::npos;
  if (!dawdling && client.find("slow") == std::string::npos) {
    reactor->Finish(grpc::Status::OK);
    return;
  }
  AnswerLate(
      [this, reactor, client] {
        Note("answered " + client);
        handoff_.Release();
        reactor->Finish(grpc::Status::OK);
      },
      dawdling ? kDawdlingDelay : kLateAnswerDelay);
}

}  // namespace herd::gateway::testing
