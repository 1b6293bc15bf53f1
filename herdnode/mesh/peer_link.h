// One linked peer: a long-lived gRPC channel, live updates while the link is
// up, and catch-up (paged Sync pulls) whenever it comes (back) up. See
// docs/ARCHITECTURE.md, "Links and catch-up".
#ifndef HERD_HERDNODE_MESH_PEER_LINK_H_
#define HERD_HERDNODE_MESH_PEER_LINK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/grpc_pollers.h"
#include "common/mutex.h"
#include "common/wake_flag.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "herd/v1/herd.grpc.pb.h"
#include "herdnode/mesh/tls_files.h"
#include "herdnode/mesh/update_queue.h"
#include "herdnode/store/flooding.h"
#include "spdlog/logger.h"

namespace herd {

enum class LinkState { kDown, kSyncing, kUp };

// A node's servers accept pings this often (a peer that pings more often
// loses its connection): PeerLinkOptions::keepalive_interval must not be
// shorter.
inline constexpr absl::Duration kMinPeerPingInterval = absl::Seconds(1);

std::string_view LinkStateName(LinkState state);

struct PeerLinkOptions {
  std::string self_name;     // this node, sent as from_server
  std::string peer_name;     // the linked peer
  std::string peer_address;  // its grpc_address
  // Mutual TLS with the herd CA; null: plaintext (--insecure).
  std::shared_ptr<const TlsMaterial> tls;
  absl::Duration sync_deadline = absl::Seconds(5);
  uint32_t sync_page_entries = 1000;
  // Live updates go as batches of at most this many on one
  // PropagateLocations stream, one message being written at a time.
  size_t max_batch = 512;
  // Beyond this many waiting updates, only each client's newest is kept.
  size_t max_queued = 65536;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // A ping goes to the peer after this long without one, and a connection
  // whose ping is not answered within keepalive_timeout is given up (the
  // link goes DOWN). The peer's server must permit pings this often.
  absl::Duration keepalive_interval = absl::Seconds(2);
  absl::Duration keepalive_timeout = absl::Seconds(3);
};

class PeerLink final : public PeerSink {
 public:
  // flooder receives every entry pulled from the peer; it must outlive this.
  // The link's calls go on the pollers' queues (running until Stop()).
  PeerLink(PeerLinkOptions options, Flooder& flooder,
           std::shared_ptr<spdlog::logger> log, GrpcPollers& pollers);
  ~PeerLink() override;  // Stops.

  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;

  // Starts the catch-up worker; the link begins DOWN and tries at once.
  void Start();
  // Cancels calls in flight, joins the worker. Idempotent. Send() drops
  // from then on.
  void Stop();

  std::string_view name() const override { return options_.peer_name; }
  // Queues a live update while SYNCING or UP; drops it while DOWN (the next
  // catch-up recovers it).
  void Send(const v1::Location& location) override;
  // Writes what is queued if the stream is idle (else it goes as soon as
  // the write in flight is done).
  void Flush() override;

  // The peer asked (Sync with sync_back) to be pulled from: catch up now,
  // without asking it to pull back -- unless this link is DOWN and so has
  // dropped updates the peer must pull.
  void RequestCatchUp();
  // The service got this many live updates from this peer, in one message.
  // False once the link is stopped: the peer is no longer linked (a
  // reloaded herd file removed it), and its calls are refused from now on.
  bool CountReceived(uint64_t updates = 1);

  LinkState state() const;
  v1::PeerStatus Status() const;

 private:
  class LiveStream;

  void WorkerLoop(const std::stop_token& stop);
  // Pulls Sync pages until the peer says there are no more.
  absl::Status CatchUp(bool sync_back);
  // Opens the stream live updates go on from now (the link is going UP).
  void OpenStreamLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // If the stream is idle and updates wait, fills its next message and
  // returns the stream to write it on (outside mu_); else null.
  LiveStream* NextWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Detaches the current stream; returns it if the caller must close it
  // (outside mu_), null if its write in flight will.
  LiveStream* DetachStreamLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnWriteDone(LiveStream* stream, bool ok);
  // The stream's pending read completed: the peer answered (it does so
  // only when a stream ends) or the stream broke.
  void OnStreamEnding(LiveStream* stream, bool answered);
  void OnStreamDone(LiveStream* stream, const grpc::Status& status);
  void SetStateLocked(LinkState state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Returns the stream the caller must close outside mu_ (may be null).
  [[nodiscard]] LiveStream* MarkDownLocked(std::string_view reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PeerLinkOptions options_;
  Flooder& flooder_;
  const std::shared_ptr<spdlog::logger> log_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::HerdNode::Stub> stub_;
  GrpcPollers& pollers_;

  mutable Mutex mu_;
  LinkState state_ ABSL_GUARDED_BY(mu_) = LinkState::kDown;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Raised by anything the worker must react to.
  WakeFlag worker_wake_;
  bool catch_up_requested_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_);
  absl::BitGen jitter_ ABSL_GUARDED_BY(mu_);
  grpc::ClientContext* sync_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  // The stream live updates go on while UP; null otherwise.
  LiveStream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Every stream gRPC is not done with yet (the current one and closing
  // ones), owned here until its OnDone.
  absl::flat_hash_map<LiveStream*, std::unique_ptr<LiveStream>> streams_
      ABSL_GUARDED_BY(mu_);
  // Updates waiting for the stream.
  UpdateQueue pending_ ABSL_GUARDED_BY(mu_);
  uint64_t updates_sent_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t batches_sent_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t updates_received_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t batches_received_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t sync_entries_received_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t reconnects_ ABSL_GUARDED_BY(mu_) = 0;

  // Only the worker touches these: the peer incarnation we have pulled from
  // and the highest of its sequence numbers we have seen.
  std::string peer_epoch_;
  uint64_t peer_after_seq_ = 0;

  std::jthread worker_;
};

}  // namespace herd

#endif  // HERD_HERDNODE_MESH_PEER_LINK_H_
