#include "herdnode/node_service.h"

#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/location_text.h"
#include "common/status_text.h"
#include "common/whatsat_limits.h"
#include "fmt/format.h"
#include "herdnode/local_caller.h"
#include "herdnode/mesh/location_check.h"
#include "herdnode/mesh/propagate_stream.h"
#include "herdnode/report_stream.h"

namespace herd {
namespace {

constexpr uint32_t kDefaultSyncPage = 1000;
constexpr uint32_t kMaxSyncPage = 10000;

// Floods location and finishes the call once its outcome may be
// acknowledged: with durability on, once the update is on disk (see
// Flooder::Flood), which happens on the durable log's writer thread. The
// poller thread is not blocked meanwhile, so one group commit (one fdatasync)
// acknowledges every call that arrived while the previous one was syncing.
// set_outcome fills the response just before the call finishes OK.
// The call finishes exactly once, here; it lives until then.
template <typename Call>
void FloodThenFinish(Call& call, Flooder& flooder, const v1::Location& location,
                     std::string_view from,
                     absl::AnyInvocable<void(v1::UpdateOutcome)> set_outcome) {
  flooder.Flood(
      location, from,
      [call = &call, set_outcome = std::move(set_outcome)](
          v1::UpdateOutcome outcome, const absl::Status& durable) mutable {
        if (!durable.ok()) {
          call->Finish(grpc::Status(
              grpc::StatusCode::UNAVAILABLE,
              "update not acknowledged: " + StatusMessage(durable)));
          return;
        }
        set_outcome(outcome);
        call->Finish(grpc::Status::OK);
      });
}

grpc::Status NotHeardOf(const std::string& client_id) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND,
                      absl::StrCat("no server of the herd has heard of client ",
                                   QuoteForMessage(client_id)));
}

}  // namespace

std::string NewEpoch() {
  absl::BitGen random;
  return fmt::format("{:016x}{:016x}", absl::Uniform<uint64_t>(random),
                     absl::Uniform<uint64_t>(random));
}

NodeService::NodeService(NodeServiceDeps deps) : deps_(std::move(deps)) {}

void NodeService::Serve(const GrpcPollers& pollers) {
  using Service = v1::HerdNode::AsyncService;
  calls_.Serve(
      pollers,
      Unary<v1::PropagateLocationRequest, v1::PropagateLocationResponse>::
          Factory(service_, &Service::RequestPropagateLocation,
                  [this](auto& call) { PropagateLocation(call); }));
  calls_.Serve(pollers, Unary<v1::SyncRequest, v1::SyncResponse>::Factory(
                            service_, &Service::RequestSync,
                            [this](auto& call) { Sync(call); }));
  calls_.Serve(
      pollers,
      Unary<v1::ReportLocationRequest, v1::ReportLocationResponse>::Factory(
          service_, &Service::RequestReportLocation,
          [this](auto& call) { ReportLocation(call); }));
  calls_.Serve(pollers,
               Unary<v1::GetLocationRequest, v1::GetLocationResponse>::Factory(
                   service_, &Service::RequestGetLocation,
                   [this](auto& call) { GetLocation(call); }));
  calls_.Serve(
      pollers,
      Unary<v1::FindNearbyPlacesRequest, v1::FindNearbyPlacesResponse>::Factory(
          service_, &Service::RequestFindNearbyPlaces,
          [this](auto& call) { FindNearbyPlaces(call); }));
  calls_.Serve(pollers,
               Unary<v1::GetStatusRequest, v1::GetStatusResponse>::Factory(
                   service_, &Service::RequestGetStatus,
                   [this](auto& call) { GetStatus(call); }));
  calls_.Serve(pollers, Unary<v1::ReloadRequest, v1::ReloadResponse>::Factory(
                            service_, &Service::RequestReload,
                            [this](auto& call) { Reload(call); }));
  // Authorized like PropagateLocation, once per stream: the transport's
  // identity of the caller does not change within one.
  calls_.Serve(
      pollers,
      PropagateStreamCalls(
          service_,
          [this](const grpc::ServerContext& context, const std::string& from) {
            return AuthorizePeer(context, "PropagateLocations", from);
          },
          *deps_.flooder, deps_.log));
  calls_.Serve(pollers, ReportStreamCalls(service_, deps_.self_name,
                                          deps_.max_client_time_ahead_seconds,
                                          *deps_.flooder, deps_.log));
  calls_.Serve(pollers, deps_.watch_hub->Calls(service_, deps_.log));
}

absl::StatusOr<std::shared_ptr<PeerLink>> NodeService::AuthorizePeer(
    const grpc::ServerContext& context, std::string_view rpc,
    const std::string& from_server) const {
  std::shared_ptr<PeerLink> link = deps_.links->Find(from_server);
  absl::Status allowed = AuthorizePeerCall(deps_.listener, IdentityOf(context),
                                           from_server, link != nullptr);
  if (!allowed.ok()) {
    deps_.log->warn("refused {} from {} (from_server '{}'): {}", rpc,
                    context.peer(), from_server, StatusMessage(allowed));
    return allowed;
  }
  return link;
}

void NodeService::PropagateLocation(
    Unary<v1::PropagateLocationRequest, v1::PropagateLocationResponse>& call) {
  grpc::ServerContext* context = &call.context();
  const v1::PropagateLocationRequest* request = &call.request();
  v1::PropagateLocationResponse* response = call.response();
  const std::string& from = request->from_server();
  const v1::Location& location = request->location();
  if (from.empty()) {
    // A text AT line relayed by this server's own gateway; only the
    // in-process channel may claim that.
    if (!IsLocalCaller(*context, deps_.local_token)) {
      return call.Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                      "from_server is empty: only this node's "
                                      "own gateway may relay text AT lines"));
    }
  } else {
    absl::StatusOr<std::shared_ptr<PeerLink>> link =
        AuthorizePeer(*context, "PropagateLocation", from);
    if (!link.ok()) return call.Finish(ToGrpcStatus(link.status()));
    // A link the reload that raced this call stopped counts nothing.
    (*link)->CountReceived();
  }
  const std::string sender =
      from.empty() ? std::string("text peer") : "peer " + from;
  deps_.log->info("{} IN PropagateLocation {} {}", sender, location.client_id(),
                  location.client_time_text());
  if (absl::Status valid = CheckPeerLocation(location); !valid.ok()) {
    deps_.log->warn("{} PropagateLocation rejected: {}", sender,
                    StatusMessage(valid));
    return call.Finish(ToGrpcStatus(valid));
  }
  return FloodThenFinish(
      call, *deps_.flooder, location, from,
      [log = deps_.log, sender, client = location.client_id(),
       time = location.client_time_text(),
       response](v1::UpdateOutcome outcome) {
        if (outcome != v1::UPDATE_OUTCOME_ACCEPTED) {
          // Says why no OUT lines follow.
          log->info("{} PropagateLocation {} {} dropped: {}", sender, client,
                    time, v1::UpdateOutcome_Name(outcome));
        }
        response->set_outcome(outcome);
      });
}

void NodeService::Sync(Unary<v1::SyncRequest, v1::SyncResponse>& call) {
  grpc::ServerContext* context = &call.context();
  const v1::SyncRequest* request = &call.request();
  v1::SyncResponse* response = call.response();
  absl::StatusOr<std::shared_ptr<PeerLink>> link =
      AuthorizePeer(*context, "Sync", request->from_server());
  if (!link.ok()) return call.Finish(ToGrpcStatus(link.status()));
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
  if (request->sync_back()) (*link)->RequestCatchUp();
  return call.Finish(grpc::Status::OK);
}

void NodeService::ReportLocation(
    Unary<v1::ReportLocationRequest, v1::ReportLocationResponse>& call) {
  const v1::ReportLocationRequest* request = &call.request();
  v1::ReportLocationResponse* response = call.response();
  deps_.log->info("client IN ReportLocation {} {} {}", request->client_id(),
                  request->coordinates_text(), request->client_time_text());
  v1::Location* location = response->mutable_location();
  if (absl::Status valid =
          LocationFromReport(*request, deps_.self_name,
                             deps_.max_client_time_ahead_seconds, location);
      !valid.ok()) {
    return call.Finish(ToGrpcStatus(valid));
  }
  return FloodThenFinish(call, *deps_.flooder, *location, "",
                         [response](v1::UpdateOutcome outcome) {
                           response->set_outcome(outcome);
                         });
}

void NodeService::GetLocation(
    Unary<v1::GetLocationRequest, v1::GetLocationResponse>& call) {
  const v1::GetLocationRequest* request = &call.request();
  v1::GetLocationResponse* response = call.response();
  deps_.log->info("client IN GetLocation {}", request->client_id());
  std::optional<v1::Location> location = deps_.store->Get(request->client_id());
  if (!location.has_value()) {
    return call.Finish(NotHeardOf(request->client_id()));
  }
  *response->mutable_location() = std::move(*location);
  return call.Finish(grpc::Status::OK);
}

void NodeService::FindNearbyPlaces(
    Unary<v1::FindNearbyPlacesRequest, v1::FindNearbyPlacesResponse>& call) {
  const v1::FindNearbyPlacesRequest* request = &call.request();
  v1::FindNearbyPlacesResponse* response = call.response();
  deps_.log->info("client IN FindNearbyPlaces {} {} {}", request->client_id(),
                  request->radius_km(), request->max_results());
  // Written so that NaN fails too.
  if (!(request->radius_km() > 0 &&
        request->radius_km() <= kWhatsatMaxRadiusKm)) {
    return call.Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("radius_km ", request->radius_km(), " is not in (0, ",
                     kWhatsatMaxRadiusKm, "]")));
  }
  if (request->max_results() == 0 ||
      request->max_results() > kWhatsatMaxResults) {
    return call.Finish(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                     absl::StrCat("max_results ", request->max_results(),
                                  " is not in [1, ", kWhatsatMaxResults, "]")));
  }
  std::optional<v1::Location> location = deps_.store->Get(request->client_id());
  if (!location.has_value()) {
    return call.Finish(NotHeardOf(request->client_id()));
  }
  if (deps_.places == nullptr) {
    return call.Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                    "no places provider configured"));
  }
  NearbyQuery query;
  query.latitude = location->latitude();
  query.longitude = location->longitude();
  query.radius_km = request->radius_km();
  query.max_results = request->max_results();
  *response->mutable_location() = std::move(*location);
  // The call and response live until Finish; the provider calls back
  // exactly once, possibly on another thread.
  deps_.places->FindNearby(
      query, [call = &call,
              response](absl::StatusOr<std::vector<v1::Place>> places) mutable {
        if (!places.ok()) {
          call->Finish(ToGrpcStatus(places.status()));
          return;
        }
        for (v1::Place& place : *places) {
          *response->add_places() = std::move(place);
        }
        call->Finish(grpc::Status::OK);
      });
}

void NodeService::GetStatus(
    Unary<v1::GetStatusRequest, v1::GetStatusResponse>& call) {
  v1::GetStatusResponse* response = call.response();
  const FloodCounters counters = deps_.flooder->counters();
  response->set_name(deps_.self_name);
  response->set_epoch(deps_.epoch);
  response->set_clients(deps_.store->size());
  response->set_updates_received(counters.received);
  response->set_updates_accepted(counters.accepted);
  response->set_updates_stale(counters.stale);
  response->set_updates_duplicate(counters.duplicate);
  if (const absl::Status failure = deps_.flooder->JournalFailure();
      !failure.ok()) {
    response->set_durability_error(StatusMessage(failure));
  }
  for (const std::shared_ptr<PeerLink>& link : *deps_.links->All()) {
    *response->add_peers() = link->Status();
  }
  return call.Finish(grpc::Status::OK);
}

void NodeService::Reload(Unary<v1::ReloadRequest, v1::ReloadResponse>& call) {
  if (deps_.listener != PeerListener::kOperator) {
    deps_.log->warn("refused Reload from {}: not the operator listener",
                    call.context().peer());
    return call.Finish(
        grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                     "Reload is served on the operator listener only"));
  }
  if (deps_.reloader == nullptr) {
    return call.Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                    "this node cannot reload"));
  }
  deps_.log->info("operator IN Reload from {}", call.context().peer());
  // Answered from the reloader's thread once the reload is over; the call
  // lives until then.
  deps_.reloader->Request([call = &call](ReloadResult result) {
    if (!result.ok()) {
      call->Finish(ToGrpcStatus(result.status()));
      return;
    }
    *call->response() = *std::move(result);
    call->Finish(grpc::Status::OK);
  });
}

}  // namespace herd
