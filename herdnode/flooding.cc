#include "herdnode/flooding.h"

namespace herd {

v1::UpdateOutcome Flooder::Flood(const v1::Location& location,
                                 std::string_view from_peer) {
  received_.fetch_add(1, std::memory_order_relaxed);
  const v1::UpdateOutcome outcome = store_.Offer(location);
  switch (outcome) {
    case v1::UPDATE_OUTCOME_ACCEPTED:
      accepted_.fetch_add(1, std::memory_order_relaxed);
      for (PeerSink* peer : peers_) {
        if (peer->name() != from_peer) peer->Send(location);
      }
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

FloodCounters Flooder::counters() const {
  FloodCounters counters;
  counters.received = received_.load(std::memory_order_relaxed);
  counters.accepted = accepted_.load(std::memory_order_relaxed);
  counters.stale = stale_.load(std::memory_order_relaxed);
  counters.duplicate = duplicate_.load(std::memory_order_relaxed);
  return counters;
}

}  // namespace herd
