// The live updates waiting to go to one peer, taken in batches. In order
// while short; once long, only each client's newest is kept, so memory stays
// bounded by the number of clients and the newest update of each client still
// gets there. Not thread-safe: the owner locks.
#ifndef HERD_HERDNODE_MESH_UPDATE_QUEUE_H_
#define HERD_HERDNODE_MESH_UPDATE_QUEUE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "herd/v1/herd.pb.h"

namespace herd {

class UpdateQueue {
 public:
  // Beyond max_in_order queued updates, newer ones are coalesced per client.
  explicit UpdateQueue(size_t max_in_order) : max_in_order_(max_in_order) {}

  void Push(const v1::Location& location);
  // Moves up to max_batch updates (oldest first) into batch, reusing the
  // messages batch already holds. Returns how many were taken.
  size_t TakeBatch(size_t max_batch,
                   google::protobuf::RepeatedPtrField<v1::Location>* batch);
  void Clear();
  bool empty() const { return head_ == tail_ && coalesced_.empty(); }
  size_t size() const { return tail_ - head_ + coalesced_.size(); }

 private:
  // Drops spare slots beyond a few batches' worth once the queue is empty,
  // so a burst does not keep its memory for good.
  void TrimSpareSlots();

  const size_t max_in_order_;
  // slots_[head_, tail_) wait, oldest first. The other slots are spare: a
  // taken update's slot gets the batch's old message in exchange, and the
  // next Push copies into it, reusing its string buffers, so a long-lived
  // link mostly stops allocating per update.
  std::vector<v1::Location> slots_;
  size_t head_ = 0;
  size_t tail_ = 0;
  absl::flat_hash_map<std::string, v1::Location> coalesced_;
};

}  // namespace herd

#endif  // HERD_HERDNODE_MESH_UPDATE_QUEUE_H_
