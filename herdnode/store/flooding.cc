#include "herdnode/store/flooding.h"

#include <utility>

namespace herd {

v1::UpdateOutcome Flooder::Accept(const v1::Location& location,
                                  std::string_view from_peer, FloodDone& done,
                                  Forward forward) {
  received_.fetch_add(1, std::memory_order_relaxed);
  v1::UpdateOutcome outcome = v1::UPDATE_OUTCOME_UNSPECIFIED;
  if (journal_ == nullptr) {
    outcome = store_.Offer(location);
    if (outcome == v1::UPDATE_OUTCOME_ACCEPTED) {
      SendToPeers(location, from_peer);
    }
  } else {
    absl::Status refused;
    {
      MutexLock lock(&journal_order_mu_);
      // Checked before the store is touched: an update the journal cannot
      // keep must not be held, answered or flooded on as if accepted.
      refused = journal_->Failure();
      if (refused.ok()) {
        outcome = store_.Offer(location);
        if (outcome == v1::UPDATE_OUTCOME_ACCEPTED) {
          // Before the journal gets done: done may run (on the journal's
          // thread) before Append returns, and the caller may then free or
          // reuse location (a ReportLocations result holds it).
          SendToPeers(location, from_peer);
          DurableDone durable;
          if (done) {
            durable = [done = std::move(done)](absl::Status status) mutable {
              done(v1::UPDATE_OUTCOME_ACCEPTED, std::move(status));
            };
            done = nullptr;
          }
          journal_->Append(location, std::move(durable));
          // location must not be read from here on.
        }
      }
    }
    if (!refused.ok()) {
      if (done) {
        std::exchange(done, nullptr)(v1::UPDATE_OUTCOME_UNSPECIFIED,
                                     std::move(refused));
      }
      return v1::UPDATE_OUTCOME_UNSPECIFIED;
    }
  }
  switch (outcome) {
    case v1::UPDATE_OUTCOME_ACCEPTED:
      accepted_.fetch_add(1, std::memory_order_relaxed);
      if (forward == Forward::kNow) FlushPeers();
      break;
    case v1::UPDATE_OUTCOME_STALE:
      stale_.fetch_add(1, std::memory_order_relaxed);
      break;
    case v1::UPDATE_OUTCOME_DUPLICATE:
      duplicate_.fetch_add(1, std::memory_order_relaxed);
      break;
    default:
      break;
  }
  return outcome;
}

void Flooder::SetPeers(std::vector<std::shared_ptr<PeerSink>> peers) {
  auto next = std::make_shared<const Sinks>(std::move(peers));
  MutexLock lock(&peers_mu_);
  peers_.swap(next);
  // The old set is released outside the lock, by whoever holds it last.
}

std::shared_ptr<const Flooder::Sinks> Flooder::Peers() const {
  MutexLock lock(&peers_mu_);
  return peers_;
}

void Flooder::SendToPeers(const v1::Location& location,
                          std::string_view from_peer) {
  const std::shared_ptr<const Sinks> peers = Peers();
  for (const std::shared_ptr<PeerSink>& peer : *peers) {
    if (peer->name() != from_peer) peer->Send(location);
  }
}

void Flooder::FlushPeers() {
  const std::shared_ptr<const Sinks> peers = Peers();
  for (const std::shared_ptr<PeerSink>& peer : *peers) peer->Flush();
}

void Flooder::Flood(const v1::Location& location, std::string_view from_peer,
                    FloodDone done) {
  FloodWith(location, from_peer, std::move(done), Forward::kNow);
}

void Flooder::Batch::Flood(const v1::Location& location,
                           std::string_view from_peer, FloodDone done) {
  flooder_.FloodWith(location, from_peer, std::move(done), Forward::kHeld);
}

v1::UpdateOutcome Flooder::Batch::Flood(const v1::Location& location,
                                        std::string_view from_peer) {
  FloodDone none;
  return flooder_.Accept(location, from_peer, none, Forward::kHeld);
}

void Flooder::FloodWith(const v1::Location& location,
                        std::string_view from_peer, FloodDone done,
                        Forward forward) {
  const v1::UpdateOutcome outcome = Accept(location, from_peer, done, forward);
  if (!done) return;  // handed to the journal with the accepted update
  if (journal_ == nullptr) {
    done(outcome, absl::OkStatus());
    return;
  }
  journal_->AfterDurable(
      [outcome, done = std::move(done)](absl::Status status) mutable {
        done(outcome, std::move(status));
      });
}

v1::UpdateOutcome Flooder::Flood(const v1::Location& location,
                                 std::string_view from_peer) {
  FloodDone none;
  return Accept(location, from_peer, none, Forward::kNow);
}

absl::Status Flooder::AwaitDurable() {
  if (journal_ == nullptr) return absl::OkStatus();
  Mutex mu;
  bool durable = false;  // guarded by mu
  absl::Status status;   // guarded by mu
  journal_->AfterDurable([&](absl::Status result) {
    MutexLock lock(&mu);
    status = std::move(result);
    durable = true;
  });
  MutexLock lock(&mu);
  mu.Await([&] { return durable; });
  return status;
}

void Flooder::AfterDurable(DurableDone done) {
  if (journal_ == nullptr) {
    done(absl::OkStatus());
    return;
  }
  journal_->AfterDurable(std::move(done));
}

bool Flooder::JournalBehind() const {
  return journal_ != nullptr && journal_->Backlog() > max_journal_backlog_;
}

absl::Status Flooder::JournalFailure() const {
  return journal_ != nullptr ? journal_->Failure() : absl::OkStatus();
}

FloodCounters Flooder::counters() const {
  FloodCounters counters;
  counters.received = received_.load(std::memory_order_relaxed);
  counters.accepted = accepted_.load(std::memory_order_relaxed);
  counters.stale = stale_.load(std::memory_order_relaxed);
  counters.duplicate = duplicate_.load(std::memory_order_relaxed);
  return counters;
}

}  // namespace herd
