// The flooding decision: an update is offered to the store; only if it is
// newer than what the node holds is it forwarded, to every linked peer except
// the one it came from. Stale and duplicate updates stop here, so an update
// crosses each link at most once in each direction.
#ifndef HERD_HERDNODE_FLOODING_H_
#define HERD_HERDNODE_FLOODING_H_

#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

#include "herd/v1/herd.pb.h"
#include "herdnode/location_store.h"

namespace herd {

// Where accepted updates go: one per linked peer.
class PeerSink {
 public:
  virtual ~PeerSink() = default;
  // The peer's server name, as in the herd file.
  virtual std::string_view name() const = 0;
  // Hands an accepted update to the peer. Must not block on the network.
  virtual void Send(const v1::Location& location) = 0;
};

struct FloodCounters {
  uint64_t received = 0;
  uint64_t accepted = 0;
  uint64_t stale = 0;
  uint64_t duplicate = 0;
};

// Thread-safe once its peers are set.
class Flooder {
 public:
  explicit Flooder(LocationStore& store) : store_(store) {}

  // The linked peers; call once, before the first Flood. The sinks must
  // outlive every Flood call.
  void SetPeers(std::vector<PeerSink*> peers) { peers_ = std::move(peers); }

  // Offers location to the store and, if accepted, sends it to every peer
  // but from_peer ("" for a client report or a text AT line: all peers).
  v1::UpdateOutcome Flood(const v1::Location& location,
                          std::string_view from_peer);

  FloodCounters counters() const;

 private:
  LocationStore& store_;
  std::vector<PeerSink*> peers_;
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> stale_{0};
  std::atomic<uint64_t> duplicate_{0};
};

}  // namespace herd

#endif  // HERD_HERDNODE_FLOODING_H_
