#include "herdnode/node_service.h"

#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "fmt/format.h"
#include "herdnode/local_caller.h"
#include "herdnode/location_check.h"
#include "herdnode/location_text.h"
#include "herdnode/status_text.h"

namespace herd {
namespace {

constexpr uint32_t kDefaultSyncPage = 1000;
constexpr uint32_t kMaxSyncPage = 10000;
constexpr double kMaxRadiusKm = 50;
constexpr uint32_t kMaxResults = 20;

// absl and gRPC share the canonical status code numbers.
grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      StatusMessage(status));
}

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::Status NotHeardOf(const std::string& client_id) {
  return grpc::Status(
      grpc::StatusCode::NOT_FOUND,
      absl::StrCat("no server of the herd has heard of client ", client_id));
}

}  // namespace

std::string NewEpoch() {
  absl::BitGen random;
  return fmt::format("{:016x}{:016x}", absl::Uniform<uint64_t>(random),
                     absl::Uniform<uint64_t>(random));
}

NodeService::NodeService(NodeServiceDeps deps) : deps_(std::move(deps)) {
  for (PeerLink* link : deps_.links) {
    links_by_name_.emplace(std::string(link->name()), link);
  }
}

grpc::Status NodeService::NotLinked(const std::string& from) const {
  return grpc::Status(
      grpc::StatusCode::PERMISSION_DENIED,
      absl::StrCat("server '", from, "' is not linked to ", deps_.self_name));
}

PeerLink* NodeService::LinkTo(std::string_view name) const {
  auto it = links_by_name_.find(absl::string_view(name.data(), name.size()));
  return it == links_by_name_.end() ? nullptr : it->second;
}

grpc::ServerUnaryReactor* NodeService::PropagateLocation(
    grpc::CallbackServerContext* context,
    const v1::PropagateLocationRequest* request,
    v1::PropagateLocationResponse* response) {
  const std::string& from = request->from_server();
  const v1::Location& location = request->location();
  PeerLink* link = nullptr;
  if (from.empty()) {
    // A text AT line relayed by this server's own gateway; only the
    // in-process channel may claim that.
    if (!IsLocalCaller(*context, deps_.local_token)) {
      return FinishNow(context,
                       grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                    "from_server is empty: only this node's "
                                    "own gateway may relay text AT lines"));
    }
  } else {
    link = LinkTo(from);
    if (link == nullptr) {
      return FinishNow(context, NotLinked(from));
    }
    link->CountReceived();
  }
  const std::string sender =
      from.empty() ? std::string("text peer") : "peer " + from;
  deps_.log->info("{} IN PropagateLocation {} {}", sender, location.client_id(),
                  location.client_time_text());
  if (absl::Status valid = CheckPeerLocation(location); !valid.ok()) {
    deps_.log->warn("{} PropagateLocation rejected: {}", sender,
                    StatusMessage(valid));
    return FinishNow(context, ToGrpc(valid));
  }
  const v1::UpdateOutcome outcome = deps_.flooder->Flood(location, from);
  if (outcome != v1::UPDATE_OUTCOME_ACCEPTED) {
    // Says why no OUT lines follow.
    deps_.log->info("{} PropagateLocation {} {} dropped: {}", sender,
                    location.client_id(), location.client_time_text(),
                    v1::UpdateOutcome_Name(outcome));
  }
  response->set_outcome(outcome);
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeService::Sync(
    grpc::CallbackServerContext* context, const v1::SyncRequest* request,
    v1::SyncResponse* response) {
  PeerLink* link = LinkTo(request->from_server());
  if (link == nullptr) {
    return FinishNow(context, NotLinked(request->from_server()));
  }
  // after_seq only means something in the incarnation it came from.
  const uint64_t after =
      request->responder_epoch() == deps_.epoch ? request->after_seq() : 0;
  uint32_t page_size = request->max_entries();
  if (page_size == 0) page_size = kDefaultSyncPage;
  page_size = std::min(page_size, kMaxSyncPage);
  StorePage page = deps_.store->EntriesAfter(after, page_size);
  response->set_epoch(deps_.epoch);
  response->set_more(page.more);
  for (StoreEntry& entry : page.entries) {
    v1::SyncEntry* out = response->add_entries();
    out->set_seq(entry.seq);
    *out->mutable_location() = std::move(entry.location);
  }
  deps_.log->info(
      "peer {} IN Sync after_seq={} sync_back={}; OUT SyncResponse entries={} "
      "more={}",
      request->from_server(), after, request->sync_back(),
      response->entries_size(), response->more());
  if (request->sync_back()) link->RequestCatchUp();
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeService::ReportLocation(
    grpc::CallbackServerContext* context,
    const v1::ReportLocationRequest* request,
    v1::ReportLocationResponse* response) {
  deps_.log->info("client IN ReportLocation {} {} {}", request->client_id(),
                  request->coordinates_text(), request->client_time_text());
  if (absl::Status valid = CheckClientId(request->client_id()); !valid.ok()) {
    return FinishNow(context, ToGrpc(valid));
  }
  absl::StatusOr<Coordinates> coordinates =
      ParseCoordinates(request->coordinates_text());
  if (!coordinates.ok()) {
    return FinishNow(context, ToGrpc(coordinates.status()));
  }
  absl::StatusOr<v1::Instant> client_time =
      ParseClientTime(request->client_time_text());
  if (!client_time.ok()) {
    return FinishNow(context, ToGrpc(client_time.status()));
  }
  v1::Instant received_at =
      request->has_received_at() ? request->received_at() : WallClockNow();
  if (absl::Status valid = CheckInstant(received_at, "received_at");
      !valid.ok()) {
    return FinishNow(context, ToGrpc(valid));
  }
  v1::Location* location = response->mutable_location();
  location->set_client_id(request->client_id());
  location->set_latitude(coordinates->latitude);
  location->set_longitude(coordinates->longitude);
  location->set_coordinates_text(request->coordinates_text());
  location->set_client_time_text(request->client_time_text());
  *location->mutable_client_time() = *client_time;
  location->set_origin_server(deps_.self_name);
  *location->mutable_server_time() = received_at;
  response->set_outcome(deps_.flooder->Flood(*location, ""));
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeService::GetLocation(
    grpc::CallbackServerContext* context, const v1::GetLocationRequest* request,
    v1::GetLocationResponse* response) {
  deps_.log->info("client IN GetLocation {}", request->client_id());
  std::optional<v1::Location> location = deps_.store->Get(request->client_id());
  if (!location.has_value()) {
    return FinishNow(context, NotHeardOf(request->client_id()));
  }
  *response->mutable_location() = std::move(*location);
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeService::FindNearbyPlaces(
    grpc::CallbackServerContext* context,
    const v1::FindNearbyPlacesRequest* request,
    v1::FindNearbyPlacesResponse* response) {
  deps_.log->info("client IN FindNearbyPlaces {} {} {}", request->client_id(),
                  request->radius_km(), request->max_results());
  // Written so that NaN fails too.
  if (!(request->radius_km() > 0 && request->radius_km() <= kMaxRadiusKm)) {
    return FinishNow(
        context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              absl::StrCat("radius_km ", request->radius_km(),
                                           " is not in (0, 50]")));
  }
  if (request->max_results() == 0 || request->max_results() > kMaxResults) {
    return FinishNow(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                           absl::StrCat("max_results ",
                                                        request->max_results(),
                                                        " is not in [1, 20]")));
  }
  std::optional<v1::Location> location = deps_.store->Get(request->client_id());
  if (!location.has_value()) {
    return FinishNow(context, NotHeardOf(request->client_id()));
  }
  if (deps_.places == nullptr) {
    return FinishNow(context, grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                           "no places provider configured"));
  }
  NearbyQuery query;
  query.latitude = location->latitude();
  query.longitude = location->longitude();
  query.radius_km = request->radius_km();
  query.max_results = request->max_results();
  *response->mutable_location() = std::move(*location);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The reactor and response live until Finish; the provider calls back
  // exactly once, possibly on another thread.
  deps_.places->FindNearby(
      query, [reactor,
              response](absl::StatusOr<std::vector<v1::Place>> places) mutable {
        if (!places.ok()) {
          reactor->Finish(ToGrpc(places.status()));
          return;
        }
        for (v1::Place& place : *places) {
          *response->add_places() = std::move(place);
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* NodeService::GetStatus(
    grpc::CallbackServerContext* context,
    const v1::GetStatusRequest* /*request*/, v1::GetStatusResponse* response) {
  const FloodCounters counters = deps_.flooder->counters();
  response->set_name(deps_.self_name);
  response->set_epoch(deps_.epoch);
  response->set_clients(deps_.store->size());
  response->set_updates_received(counters.received);
  response->set_updates_accepted(counters.accepted);
  response->set_updates_stale(counters.stale);
  response->set_updates_duplicate(counters.duplicate);
  for (const PeerLink* link : deps_.links) {
    *response->add_peers() = link->Status();
  }
  return FinishNow(context, grpc::Status::OK);
}

}  // namespace herd
