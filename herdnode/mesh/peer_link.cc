#include "herdnode/mesh/peer_link.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "common/cq_reactor.h"
#include "common/location_text.h"
#include "common/status_text.h"
#include "fmt/format.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "herdnode/mesh/location_check.h"

namespace herd {
namespace {

std::shared_ptr<grpc::Channel> MakeChannel(const PeerLinkOptions& options) {
  grpc::ChannelArguments args;
  const auto ms = [](absl::Duration d) {
    return static_cast<int>(absl::ToInt64Milliseconds(d));
  };
  // A peer that is frozen or cut off behind a connection that stays open
  // never fails a read or a write: only an unanswered ping shows it, on an
  // idle link as on a busy one. The node's server permits pings this often
  // (kMinPeerPingInterval, see node.cc).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, ms(options.keepalive_interval));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ms(options.keepalive_timeout));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_HTTP2_MIN_SENT_PING_INTERVAL_WITHOUT_DATA_MS,
              ms(options.keepalive_interval));
  // Reconnect quickly after a peer restart, but do not hammer a dead one.
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

// One PropagateLocations stream. A hold keeps gRPC from finishing it while
// the link may still write on it from outside its reactions; Close() drops
// the hold, exactly once, when the link is done with it. A read is pending
// from the start: the peer answers only when a stream ends, so the read
// completing is how a broken (or ended) stream is noticed even when nothing
// is being written.
class PeerLink::LiveStream final
    : public ClientBidiCall<v1::PropagateLocationsRequest,
                            v1::PropagateLocationsResponse> {
 public:
  LiveStream(PeerLink& link, v1::HerdNode::Stub& stub,
             grpc::CompletionQueue* queue)
      : link_(link) {
    request_.set_from_server(link.options_.self_name);
    Bind(stub.PrepareAsyncPropagateLocations(context(), queue));
    AddHold();
    StartRead(&answer_);
    StartCall();
  }

  // The message being written; only touched by the writer of the moment.
  v1::PropagateLocationsRequest& request() { return request_; }
  void Write() { StartWrite(&request_); }
  void Cancel() {
    handoff_.Release();
    context()->TryCancel();
  }
  void Close() {
    Cancel();
    RemoveHold();
  }

  // Guarded by the link's mu_.
  bool writing = false;
  bool detached = false;

 private:
  void OnWriteDone(bool ok) override { link_.OnWriteDone(this, ok); }
  void OnReadDone(bool ok) override { link_.OnStreamEnding(this, ok); }
  void OnDone(const grpc::Status& status) override {
    link_.OnStreamDone(this, status);
  }

  PeerLink& link_;
  v1::PropagateLocationsRequest request_;
  v1::PropagateLocationsResponse answer_;
};

PeerLink::PeerLink(PeerLinkOptions options, Flooder& flooder,
                   std::shared_ptr<spdlog::logger> log, GrpcPollers& pollers)
    : options_(std::move(options)),
      flooder_(flooder),
      log_(std::move(log)),
      channel_(MakeChannel(options_)),
      stub_(v1::HerdNode::NewStub(channel_)),
      pollers_(pollers),
      backoff_(options_.initial_backoff),
      pending_(options_.max_queued) {}

PeerLink::~PeerLink() { Stop(); }

void PeerLink::Start() {
  MutexLock lock(&mu_);
  if (started_ || stopping_) return;
  started_ = true;
  worker_ =
      std::jthread([this](const std::stop_token& stop) { WorkerLoop(stop); });
}

void PeerLink::Stop() {
  LiveStream* to_close = nullptr;
  {
    MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      worker_wake_.Raise();
      pending_.Clear();
      to_close = DetachStreamLocked();
      if (sync_context_ != nullptr) sync_context_->TryCancel();
    }
  }
  if (to_close != nullptr) to_close->Close();
  if (worker_.joinable()) {
    worker_.request_stop();
    worker_.join();
  }
  // Reactions of closed streams still run; they use this object.
  MutexLock lock(&mu_);
  mu_.Await(
      [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return streams_.empty(); });
}

void PeerLink::Send(const v1::Location& location) {
  MutexLock lock(&mu_);
  if (stopping_ || state_ == LinkState::kDown) return;
  pending_.Push(location);
}

void PeerLink::Flush() {
  LiveStream* write_on = nullptr;
  {
    MutexLock lock(&mu_);
    write_on = NextWriteLocked();
  }
  if (write_on != nullptr) write_on->Write();
}

void PeerLink::OpenStreamLocked() {
  auto stream =
      std::make_unique<LiveStream>(*this, *stub_, pollers_.NextQueue());
  stream_ = stream.get();
  streams_.emplace(stream_, std::move(stream));
}

PeerLink::LiveStream* PeerLink::NextWriteLocked() {
  if (stream_ == nullptr || stream_->writing || pending_.empty()) {
    return nullptr;
  }
  pending_.TakeBatch(options_.max_batch,
                     stream_->request().mutable_locations());
  // One line per update, as before batching: the log shows where each went.
  for (const v1::Location& location : stream_->request().locations()) {
    log_->info("peer {} OUT PropagateLocation {} {}", options_.peer_name,
               location.client_id(), location.client_time_text());
  }
  stream_->writing = true;
  return stream_;
}

PeerLink::LiveStream* PeerLink::DetachStreamLocked() {
  LiveStream* stream = std::exchange(stream_, nullptr);
  if (stream == nullptr) return nullptr;
  stream->detached = true;
  if (!stream->writing) return stream;
  // Its write ends soon (at once, failing); OnWriteDone closes it then.
  stream->Cancel();
  return nullptr;
}

void PeerLink::OnWriteDone(LiveStream* stream, bool ok) {
  LiveStream* write_on = nullptr;
  LiveStream* to_close = nullptr;
  {
    MutexLock lock(&mu_);
    stream->writing = false;
    if (stream->detached) {
      to_close = stream;
    } else if (!ok) {
      to_close = MarkDownLocked(
          fmt::format("PropagateLocations stream broke ({} updates not sent)",
                      stream->request().locations_size()));
    } else {
      updates_sent_ +=
          static_cast<uint64_t>(stream->request().locations_size());
      ++batches_sent_;
      write_on = NextWriteLocked();
    }
  }
  if (write_on != nullptr) write_on->Write();
  // Last: closing may finish the stream and free it.
  if (to_close != nullptr) to_close->Close();
}

void PeerLink::OnStreamEnding(LiveStream* stream, bool answered) {
  LiveStream* to_close = nullptr;
  {
    MutexLock lock(&mu_);
    // A detached stream is being closed already; its OnDone says how it
    // ended.
    if (!stream->detached) {
      to_close =
          MarkDownLocked(answered ? "PropagateLocations stream ended by the "
                                    "peer"
                                  : "PropagateLocations stream broke");
    }
  }
  // Last: closing may finish the stream and free it.
  if (to_close != nullptr) to_close->Close();
}

void PeerLink::OnStreamDone(LiveStream* stream, const grpc::Status& status) {
  MutexLock lock(&mu_);
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    log_->warn("peer {} PropagateLocations stream ended: {} {}",
               options_.peer_name, static_cast<int>(status.error_code()),
               status.error_message());
  }
  // Destroyed under mu_: Stop() returns (and this link and its channel go)
  // only once the stream's teardown, which drops the stream's own reference
  // to the channel, is over.
  streams_.erase(stream);
}

void PeerLink::RequestCatchUp() {
  MutexLock lock(&mu_);
  catch_up_requested_ = true;
  worker_wake_.Raise();
}

bool PeerLink::CountReceived(uint64_t updates) {
  MutexLock lock(&mu_);
  updates_received_ += updates;
  ++batches_received_;
  return !stopping_;
}

LinkState PeerLink::state() const {
  MutexLock lock(&mu_);
  return state_;
}

v1::PeerStatus PeerLink::Status() const {
  v1::PeerStatus status;
  status.set_name(options_.peer_name);
  status.set_grpc_address(options_.peer_address);
  MutexLock lock(&mu_);
  status.set_state(std::string(LinkStateName(state_)));
  status.set_updates_sent(updates_sent_);
  status.set_batches_sent(batches_sent_);
  status.set_updates_received(updates_received_);
  status.set_batches_received(batches_received_);
  status.set_sync_entries_received(sync_entries_received_);
  status.set_reconnects(reconnects_);
  return status;
}

void PeerLink::SetStateLocked(LinkState state) {
  if (state_ == state) return;
  state_ = state;
  log_->info("peer {} link {}", options_.peer_name, LinkStateName(state));
}

PeerLink::LiveStream* PeerLink::MarkDownLocked(std::string_view reason) {
  if (state_ == LinkState::kDown) return nullptr;
  log_->warn("peer {} {}", options_.peer_name, reason);
  SetStateLocked(LinkState::kDown);
  // Nothing queued would get there; the next catch-up recovers it.
  pending_.Clear();
  // Jitter in [backoff/2, backoff] keeps the herd's retries apart.
  next_attempt_ = absl::Now() + backoff_ * absl::Uniform(jitter_, 0.5, 1.0);
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
  worker_wake_.Raise();
  return DetachStreamLocked();
}

void PeerLink::WorkerLoop(const std::stop_token& stop) {
  bool first_attempt = true;
  MutexLock lock(&mu_);
  while (!stopping_ && !stop.stop_requested()) {
    const bool requested = catch_up_requested_;
    const bool due = state_ == LinkState::kDown && absl::Now() >= next_attempt_;
    if (!requested && !due) {
      // Slept on outside mu_, which every Send locks (see wake_flag.h).
      const bool down = state_ == LinkState::kDown;
      const absl::Duration until_due = next_attempt_ - absl::Now();
      mu_.Unlock();
      if (down) {
        worker_wake_.SleepUntil(std::chrono::steady_clock::now() +
                                absl::ToChronoNanoseconds(until_due));
      } else {
        worker_wake_.Sleep();
      }
      mu_.Lock();
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
      if (LiveStream* to_close = MarkDownLocked(
              fmt::format("catch-up failed: {}", StatusMessage(result)));
          to_close != nullptr) {
        mu_.Unlock();
        to_close->Close();
        mu_.Lock();
      }
    } else if (state_ == LinkState::kSyncing) {
      // The peer answered, so the stream opens on a live connection; what
      // was queued during the pull goes first.
      OpenStreamLocked();
      SetStateLocked(LinkState::kUp);
      backoff_ = options_.initial_backoff;
      if (LiveStream* write_on = NextWriteLocked(); write_on != nullptr) {
        mu_.Unlock();
        write_on->Write();
        mu_.Lock();
      }
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
      MutexLock lock(&mu_);
      if (stopping_) return absl::CancelledError("link stopping");
      sync_context_ = &context;
    }
    log_->info("peer {} OUT Sync after_seq={} sync_back={}", options_.peer_name,
               request.after_seq(), request.sync_back());
    v1::SyncResponse response;
    grpc::Status status;
    // On a poller's queue like every call of the node; this thread only
    // waits for the answer.
    // (herd::Mutex, not absl::Notification: ThreadSanitizer sees it.)
    class Answered final : public CompletionTag {
     public:
      void Complete(bool /*ok*/) override {
        MutexLock lock(&mu);
        done = true;
      }
      void Wait() {
        MutexLock lock(&mu);
        mu.Await([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return done; });
      }
      Mutex mu;
      bool done ABSL_GUARDED_BY(mu) = false;
    } answered;
    const std::unique_ptr<grpc::ClientAsyncResponseReader<v1::SyncResponse>>
        call = stub_->AsyncSync(&context, request, pollers_.NextQueue());
    call->Finish(&response, &status, HandToGrpc(&answered));
    answered.Wait();
    {
      MutexLock lock(&mu_);
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
    {
      // A page goes on to the other peers in as few messages as it can.
      Flooder::Batch batch(flooder_);
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
        batch.Flood(entry.location(), options_.peer_name);
      }
    }
    // One wait per page, not per entry: with durability on, the page is on
    // disk before the next is pulled, which also bounds the log's queue. A
    // failed disk ends the catch-up: the page is not kept.
    if (absl::Status durable = flooder_.AwaitDurable(); !durable.ok()) {
      return durable;
    }
    {
      MutexLock lock(&mu_);
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
