#include "herdnode/peer_link.h"

#include <algorithm>
#include <utility>

#include "fmt/format.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "herdnode/location_check.h"
#include "herdnode/location_text.h"
#include "herdnode/status_text.h"

namespace herd {
namespace {

std::shared_ptr<grpc::Channel> MakeChannel(const PeerLinkOptions& options) {
  grpc::ChannelArguments args;
  // Notice a dead peer on an idle connection too; the node's server permits
  // pings this often (see node.cc).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Reconnect quickly after a peer restart, but do not hammer a dead one.
  const auto ms = [](absl::Duration d) {
    return static_cast<int>(absl::ToInt64Milliseconds(d));
  };
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              ms(options.initial_backoff));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, ms(options.initial_backoff));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, ms(options.max_backoff));
  if (options.tls == nullptr) {
    return grpc::CreateCustomChannel(options.peer_address,
                                     grpc::InsecureChannelCredentials(), args);
  }
  // The peer must prove it is the server we linked to, whatever address
  // reaches it: check its certificate against the name (SAN DNS:NAME), not
  // against the host of peer_address.
  args.SetSslTargetNameOverride(options.peer_name);
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options.tls->ca_cert_pem;
  ssl.pem_private_key = options.tls->private_key_pem;
  ssl.pem_cert_chain = options.tls->cert_chain_pem;
  return grpc::CreateCustomChannel(options.peer_address,
                                   grpc::SslCredentials(ssl), args);
}

}  // namespace

std::string_view LinkStateName(LinkState state) {
  switch (state) {
    case LinkState::kDown:
      return "DOWN";
    case LinkState::kSyncing:
      return "SYNCING";
    case LinkState::kUp:
      return "UP";
  }
  return "UNKNOWN";
}

// One PropagateLocation in flight; shared by the callback that finishes it.
struct PeerLink::LiveCall {
  grpc::ClientContext context;
  v1::PropagateLocationRequest request;
  v1::PropagateLocationResponse response;
};

PeerLink::PeerLink(PeerLinkOptions options, Flooder& flooder,
                   std::shared_ptr<spdlog::logger> log)
    : options_(std::move(options)),
      flooder_(flooder),
      log_(std::move(log)),
      channel_(MakeChannel(options_)),
      stub_(v1::HerdNode::NewStub(channel_)),
      backoff_(options_.initial_backoff) {}

PeerLink::~PeerLink() { Stop(); }

void PeerLink::Start() {
  absl::MutexLock lock(&mu_);
  if (started_ || stopping_) return;
  started_ = true;
  worker_ =
      std::jthread([this](const std::stop_token& stop) { WorkerLoop(stop); });
}

void PeerLink::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      worker_kick_ = true;
      pending_.clear();
      for (grpc::ClientContext* context : live_contexts_) context->TryCancel();
      if (sync_context_ != nullptr) sync_context_->TryCancel();
    }
  }
  if (worker_.joinable()) {
    worker_.request_stop();
    worker_.join();
  }
  // Callbacks of cancelled calls still run; they use this object.
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](size_t* in_flight) { return *in_flight == 0; }, &in_flight_));
}

void PeerLink::Send(const v1::Location& location) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || state_ == LinkState::kDown) return;
    if (in_flight_ >= options_.max_in_flight) {
      // Coalesce: memory stays bounded by the number of clients, and the
      // newest update of each client still gets there.
      auto [it, inserted] =
          pending_.try_emplace(location.client_id(), location);
      if (!inserted && std::is_gt(CompareInstants(location.client_time(),
                                                  it->second.client_time()))) {
        it->second = location;
      }
      return;
    }
    ++in_flight_;
  }
  StartCall(location);
}

void PeerLink::StartCall(const v1::Location& location) {
  auto call = std::make_shared<LiveCall>();
  call->request.set_from_server(options_.self_name);
  *call->request.mutable_location() = location;
  call->context.set_deadline(
      absl::ToChronoTime(absl::Now() + options_.call_deadline));
  {
    absl::MutexLock lock(&mu_);
    live_contexts_.insert(&call->context);
    // TryCancel before the call starts still cancels it once started.
    if (stopping_) call->context.TryCancel();
  }
  log_->info("peer {} OUT PropagateLocation {} {}", options_.peer_name,
             location.client_id(), location.client_time_text());
  stub_->async()->PropagateLocation(
      &call->context, &call->request, &call->response,
      [this, call](const grpc::Status& status) { OnCallDone(call, status); });
}

void PeerLink::OnCallDone(const std::shared_ptr<LiveCall>& call,
                          const grpc::Status& status) {
  std::optional<v1::Location> next;
  {
    absl::MutexLock lock(&mu_);
    live_contexts_.erase(&call->context);
    if (status.ok()) {
      ++updates_sent_;
      if (!stopping_ && state_ != LinkState::kDown && !pending_.empty()) {
        auto it = pending_.begin();
        next = std::move(it->second);
        pending_.erase(it);
      }
    } else if (!stopping_) {
      MarkDownLocked(fmt::format("PropagateLocation {} failed: {} {}",
                                 call->request.location().client_id(),
                                 static_cast<int>(status.error_code()),
                                 status.error_message()));
    }
    // Keep the slot for the next pending update; otherwise release it (the
    // last touch of this object: Stop() may return right after).
    if (!next.has_value()) --in_flight_;
  }
  if (next.has_value()) StartCall(*next);
}

void PeerLink::RequestCatchUp() {
  absl::MutexLock lock(&mu_);
  catch_up_requested_ = true;
  worker_kick_ = true;
}

void PeerLink::CountReceived() {
  absl::MutexLock lock(&mu_);
  ++updates_received_;
}

LinkState PeerLink::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

v1::PeerStatus PeerLink::Status() const {
  v1::PeerStatus status;
  status.set_name(options_.peer_name);
  status.set_grpc_address(options_.peer_address);
  absl::MutexLock lock(&mu_);
  status.set_state(std::string(LinkStateName(state_)));
  status.set_updates_sent(updates_sent_);
  status.set_updates_received(updates_received_);
  status.set_sync_entries_received(sync_entries_received_);
  status.set_reconnects(reconnects_);
  return status;
}

void PeerLink::SetStateLocked(LinkState state) {
  if (state_ == state) return;
  state_ = state;
  log_->info("peer {} link {}", options_.peer_name, LinkStateName(state));
}

void PeerLink::MarkDownLocked(std::string_view reason) {
  if (state_ == LinkState::kDown) return;
  log_->warn("peer {} {}", options_.peer_name, reason);
  SetStateLocked(LinkState::kDown);
  // Nothing queued would get there; the next catch-up recovers it.
  pending_.clear();
  // Jitter in [backoff/2, backoff] keeps the herd's retries apart.
  next_attempt_ = absl::Now() + backoff_ * absl::Uniform(jitter_, 0.5, 1.0);
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
  worker_kick_ = true;
}

void PeerLink::WorkerLoop(const std::stop_token& stop) {
  bool first_attempt = true;
  absl::MutexLock lock(&mu_);
  while (!stopping_ && !stop.stop_requested()) {
    const bool requested = catch_up_requested_;
    const bool due = state_ == LinkState::kDown && absl::Now() >= next_attempt_;
    if (!requested && !due) {
      const absl::Duration wait = state_ == LinkState::kDown
                                      ? next_attempt_ - absl::Now()
                                      : absl::InfiniteDuration();
      mu_.AwaitWithTimeout(absl::Condition(&worker_kick_), wait);
      worker_kick_ = false;
      continue;
    }
    catch_up_requested_ = false;
    // Ask the peer to pull from us in turn unless it asked us to pull while
    // the link was live: then it is pulling already and nothing of ours was
    // dropped, and asking back would only ping-pong. A link coming up from
    // DOWN always asks, since updates were dropped while it was down.
    bool sync_back = !requested;
    if (state_ == LinkState::kDown) {
      if (!first_attempt) ++reconnects_;
      first_attempt = false;
      sync_back = true;
      // Live from here on: updates accepted during the pull are queued, the
      // ones accepted before are covered by it.
      SetStateLocked(LinkState::kSyncing);
    }
    mu_.Unlock();
    const absl::Status result = CatchUp(sync_back);
    mu_.Lock();
    if (stopping_) break;
    if (!result.ok()) {
      MarkDownLocked(fmt::format("catch-up failed: {}", StatusMessage(result)));
    } else if (state_ == LinkState::kSyncing) {
      SetStateLocked(LinkState::kUp);
      backoff_ = options_.initial_backoff;
    }
  }
}

absl::Status PeerLink::CatchUp(bool sync_back) {
  for (bool first_page = true;; first_page = false) {
    v1::SyncRequest request;
    request.set_from_server(options_.self_name);
    request.set_responder_epoch(peer_epoch_);
    request.set_after_seq(peer_after_seq_);
    request.set_max_entries(options_.sync_page_entries);
    request.set_sync_back(sync_back && first_page);
    grpc::ClientContext context;
    context.set_deadline(
        absl::ToChronoTime(absl::Now() + options_.sync_deadline));
    // Wait out the channel's reconnect instead of failing at once: a peer
    // that just restarted is usually reachable within the deadline.
    context.set_wait_for_ready(true);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return absl::CancelledError("link stopping");
      sync_context_ = &context;
    }
    log_->info("peer {} OUT Sync after_seq={} sync_back={}", options_.peer_name,
               request.after_seq(), request.sync_back());
    v1::SyncResponse response;
    const grpc::Status status = stub_->Sync(&context, request, &response);
    {
      absl::MutexLock lock(&mu_);
      sync_context_ = nullptr;
    }
    if (!status.ok()) {
      return absl::UnavailableError(fmt::format(
          "Sync failed: {} {}", static_cast<int>(status.error_code()),
          status.error_message()));
    }
    log_->info("peer {} IN SyncResponse entries={} more={}", options_.peer_name,
               response.entries_size(), response.more());
    if (response.epoch() != peer_epoch_) {
      // The peer restarted (or this is our first pull): its sequence numbers
      // start over, and it paged from its beginning.
      peer_epoch_ = response.epoch();
      peer_after_seq_ = 0;
    }
    for (const v1::SyncEntry& entry : response.entries()) {
      if (entry.seq() <= peer_after_seq_) {
        return absl::DataLossError(
            "Sync entries are not in increasing seq order");
      }
      peer_after_seq_ = entry.seq();
      if (absl::Status valid = CheckPeerLocation(entry.location());
          !valid.ok()) {
        log_->warn("peer {} IN Sync entry rejected: {}", options_.peer_name,
                   StatusMessage(valid));
        continue;
      }
      flooder_.Flood(entry.location(), options_.peer_name);
    }
    // One wait per page, not per entry: with durability on, the page is on
    // disk before the next is pulled, which also bounds the log's queue.
    flooder_.AwaitDurable();
    {
      absl::MutexLock lock(&mu_);
      sync_entries_received_ += static_cast<uint64_t>(response.entries_size());
    }
    if (!response.more()) return absl::OkStatus();
    // Each page must advance, or this loop would never end.
    if (response.entries().empty()) {
      return absl::DataLossError("Sync said more=true with no entries");
    }
  }
}

}  // namespace herd
