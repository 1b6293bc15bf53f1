#include "herdnode/update_queue.h"

#include <compare>
#include <utility>

#include "herdnode/location_text.h"

namespace herd {

void UpdateQueue::Push(const v1::Location& location) {
  if (in_order_.size() - in_order_head_ < max_in_order_) {
    in_order_.push_back(location);
    return;
  }
  auto [it, inserted] = coalesced_.try_emplace(location.client_id(), location);
  if (!inserted && std::is_gt(CompareInstants(location.client_time(),
                                              it->second.client_time()))) {
    it->second = location;
  }
}

size_t UpdateQueue::TakeBatch(
    size_t max_batch, google::protobuf::RepeatedPtrField<v1::Location>* batch) {
  // Clear keeps the cleared messages for reuse: no allocation per batch once
  // the batch has been this large before.
  batch->Clear();
  size_t taken = 0;
  while (taken < max_batch && in_order_head_ < in_order_.size()) {
    batch->Add()->Swap(&in_order_[in_order_head_++]);
    ++taken;
  }
  if (in_order_head_ == in_order_.size()) {
    in_order_.clear();  // keeps capacity
    in_order_head_ = 0;
  }
  while (taken < max_batch && !coalesced_.empty()) {
    auto it = coalesced_.begin();
    batch->Add()->Swap(&it->second);
    coalesced_.erase(it);
    ++taken;
  }
  return taken;
}

void UpdateQueue::Clear() {
  in_order_.clear();
  in_order_head_ = 0;
  coalesced_.clear();
}

}  // namespace herd
