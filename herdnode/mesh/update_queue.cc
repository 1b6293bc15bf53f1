#include "herdnode/mesh/update_queue.h"

#include <compare>
#include <utility>

#include "common/location_text.h"

namespace herd {

namespace {

// Spare slots kept once the queue empties.
constexpr size_t kSpareSlots = 1024;

}  // namespace

void UpdateQueue::Push(const v1::Location& location) {
  if (tail_ - head_ < max_in_order_) {
    if (tail_ == slots_.size()) {
      slots_.push_back(location);
    } else {
      slots_[tail_] = location;
    }
    ++tail_;
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
  while (taken < max_batch && head_ < tail_) {
    batch->Add()->Swap(&slots_[head_++]);
    ++taken;
  }
  if (head_ == tail_) {
    head_ = 0;
    tail_ = 0;
    TrimSpareSlots();
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
  head_ = 0;
  tail_ = 0;
  TrimSpareSlots();
  coalesced_.clear();
}

void UpdateQueue::TrimSpareSlots() {
  if (slots_.size() > kSpareSlots) {
    slots_.resize(kSpareSlots);
    slots_.shrink_to_fit();
  }
}

}  // namespace herd
