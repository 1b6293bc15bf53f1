#include "herdnode/location_store.h"

#include <compare>

#include "herdnode/location_text.h"

namespace herd {

v1::UpdateOutcome LocationStore::Offer(const v1::Location& location) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = by_client_.try_emplace(location.client_id());
  Slot& slot = it->second;
  if (!inserted) {
    const auto order =
        CompareInstants(location.client_time(), slot.location.client_time());
    if (std::is_eq(order)) return v1::UPDATE_OUTCOME_DUPLICATE;
    if (std::is_lt(order)) return v1::UPDATE_OUTCOME_STALE;
    by_seq_.erase(slot.seq);
  }
  slot.seq = next_seq_++;
  slot.location = location;
  by_seq_.emplace(slot.seq, &*it);
  return v1::UPDATE_OUTCOME_ACCEPTED;
}

std::optional<v1::Location> LocationStore::Get(
    std::string_view client_id) const {
  absl::MutexLock lock(&mu_);
  // Debian's absl::string_view is not std::string_view; convert explicitly.
  auto it =
      by_client_.find(absl::string_view(client_id.data(), client_id.size()));
  if (it == by_client_.end()) return std::nullopt;
  return it->second.location;
}

StorePage LocationStore::EntriesAfter(uint64_t after_seq, size_t max) const {
  absl::MutexLock lock(&mu_);
  StorePage page;
  for (auto it = by_seq_.upper_bound(after_seq); it != by_seq_.end(); ++it) {
    if (page.entries.size() == max) {
      page.more = true;
      break;
    }
    page.entries.push_back(StoreEntry{it->first, it->second->second.location});
  }
  return page;
}

size_t LocationStore::size() const {
  absl::MutexLock lock(&mu_);
  return by_client_.size();
}

uint64_t LocationStore::last_seq() const {
  absl::MutexLock lock(&mu_);
  return next_seq_ - 1;
}

}  // namespace herd
