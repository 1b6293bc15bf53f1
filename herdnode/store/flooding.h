// The flooding decision: an update is offered to the store; only if it is
// newer than what the node holds is it forwarded, to every linked peer except
// the one it came from. Stale and duplicate updates stop here, so an update
// crosses each link at most once in each direction.
#ifndef HERD_HERDNODE_STORE_FLOODING_H_
#define HERD_HERDNODE_STORE_FLOODING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "common/mutex.h"
#include "herd/v1/herd.pb.h"
#include "herdnode/store/location_store.h"

namespace herd {

// Where accepted updates go: one per linked peer.
class PeerSink {
 public:
  virtual ~PeerSink() = default;
  // The peer's server name, as in the herd file.
  virtual std::string_view name() const = 0;
  // Hands an accepted update to the peer. Must not block on the network.
  // It may wait (queued) until the next Flush().
  virtual void Send(const v1::Location& location) = 0;
  // Whatever Send() queued may go now. The Flooder calls it once per update
  // flooded alone, and once at the end of a Batch: updates that arrived in
  // one message leave in one message per link.
  virtual void Flush() {}
};

// Runs once an update is as durable as the journal promises (or with the
// error that kept it from being so), on any thread, possibly at once.
using DurableDone = absl::AnyInvocable<void(absl::Status)>;

// Where accepted updates are recorded before they are acknowledged (the
// durable log; see durable_log.h). Appends must not block on the disk.
class UpdateJournal {
 public:
  virtual ~UpdateJournal() = default;
  // Records an accepted update; done (may be empty) runs once it is durable.
  virtual void Append(const v1::Location& location, DurableDone done) = 0;
  // done runs once everything appended before this call is durable.
  virtual void AfterDurable(DurableDone done) = 0;
  // Appended updates that are not durable yet.
  virtual size_t Backlog() const = 0;
  // Not OK once the journal can make nothing durable any more (its disk
  // failed): the Flooder then refuses updates before they reach the store,
  // so a refusal changes nothing. A journal that never fails keeps this.
  virtual absl::Status Failure() const { return absl::OkStatus(); }
};

// A flood's outcome, once it may be acknowledged: status is not OK if the
// update was accepted but could not be made durable.
using FloodDone = absl::AnyInvocable<void(v1::UpdateOutcome, absl::Status)>;

struct FloodCounters {
  uint64_t received = 0;
  uint64_t accepted = 0;
  uint64_t stale = 0;
  uint64_t duplicate = 0;
};

// Thread-safe.
class Flooder {
 public:
  // Beyond this many updates waiting for the disk, the journal is behind
  // (see JournalBehind).
  static constexpr size_t kDefaultMaxJournalBacklog = 16384;

  explicit Flooder(LocationStore& store,
                   size_t max_journal_backlog = kDefaultMaxJournalBacklog)
      : store_(store), max_journal_backlog_(max_journal_backlog) {}

  // Where accepted updates go: the linked peers (and local sinks such as
  // Watch). May be replaced at any time, from any thread (a reloaded herd
  // file): a flood already forwarding finishes with the sinks it started
  // with, which it keeps alive until then; the next flood uses the new ones.
  void SetPeers(std::vector<std::shared_ptr<PeerSink>> peers);
  // Where accepted updates are recorded; call once, before the first Flood,
  // or never (state in memory only). It must outlive every Flood call.
  void SetJournal(UpdateJournal* journal) { journal_ = journal; }

  // Offers location to the store and, if accepted, records it in the
  // journal and sends it to every peer but from_peer ("" for a client report
  // or a text AT line: all peers). done runs once the outcome may be
  // acknowledged: for an accepted update, once it is durable; for a stale or
  // duplicate one, once the update that made it so is durable (it may still
  // be on its way to the disk). If the journal has failed, the update is
  // refused untouched: done gets UPDATE_OUTCOME_UNSPECIFIED and the
  // journal's error, at once.
  void Flood(const v1::Location& location, std::string_view from_peer,
             FloodDone done);
  // The same without waiting for the journal (catch-up pulls, which call
  // AwaitDurable once per page instead). UPDATE_OUTCOME_UNSPECIFIED: refused,
  // the journal has failed.
  v1::UpdateOutcome Flood(const v1::Location& location,
                          std::string_view from_peer);
  // Blocks until every update flooded so far is durable, or the journal
  // says why it is not. For worker threads only: never on an event loop or
  // a gRPC callback.
  absl::Status AwaitDurable();
  // done runs once every update flooded so far is durable (at once without
  // a journal), on any thread.
  void AfterDurable(DurableDone done);
  // Whether more updates wait for the disk than the journal should queue:
  // a caller that floods without waiting for the disk (a PropagateLocations
  // stream) takes no more until AfterDurable says they are written, which
  // holds the rest back at the sending peer. The others wait for the disk
  // anyway (client reports, unary propagation, catch-up pages).
  bool JournalBehind() const;
  // The journal's failure (see UpdateJournal::Failure); OK without one.
  absl::Status JournalFailure() const;

  FloodCounters counters() const;

  // Floods updates that arrived together (one stream message, one catch-up
  // page) and sends them on together: nothing goes to the peers until the
  // Batch ends. Not thread-safe; one per caller at a time.
  class Batch {
   public:
    explicit Batch(Flooder& flooder) : flooder_(flooder) {}
    ~Batch() { flooder_.FlushPeers(); }
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

    // Like Flooder::Flood, but the peers get the update when the Batch ends.
    void Flood(const v1::Location& location, std::string_view from_peer,
               FloodDone done);
    v1::UpdateOutcome Flood(const v1::Location& location,
                            std::string_view from_peer);

   private:
    Flooder& flooder_;
  };

 private:
  // Accept() for one update (flushed at once) or for a Batch (flushed when
  // it ends).
  enum class Forward { kNow, kHeld };
  void FlushPeers();
  // Hands an accepted update to every peer but from_peer.
  void SendToPeers(const v1::Location& location, std::string_view from_peer);
  void FloodWith(const v1::Location& location, std::string_view from_peer,
                 FloodDone done, Forward forward);

  // Offer, journal append (handing done over if accepted, or running it if
  // the journal refuses: then it is empty afterwards), counters and
  // forwarding (before the journal append: location is not read after it).
  v1::UpdateOutcome Accept(const v1::Location& location,
                           std::string_view from_peer, FloodDone& done,
                           Forward forward);

  using Sinks = std::vector<std::shared_ptr<PeerSink>>;
  // The current sinks, shared with the floods using them.
  std::shared_ptr<const Sinks> Peers() const;

  LocationStore& store_;
  const size_t max_journal_backlog_;
  // Held only to copy or replace peers_: never while a sink runs.
  mutable Mutex peers_mu_;
  std::shared_ptr<const Sinks> peers_ ABSL_GUARDED_BY(peers_mu_) =
      std::make_shared<const Sinks>();
  UpdateJournal* journal_ = nullptr;
  // Held across the store's decision and the journal append, so the journal
  // sees accepted updates in the store's order: a "durable up to here"
  // barrier after a DUPLICATE then covers the update it duplicates.
  Mutex journal_order_mu_;
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> stale_{0};
  std::atomic<uint64_t> duplicate_{0};
};

}  // namespace herd

#endif  // HERD_HERDNODE_STORE_FLOODING_H_
