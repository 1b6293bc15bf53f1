#include "herdnode/ops/status/recent_updates.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace herd {

RecentUpdates::RecentUpdates(size_t capacity)
    : capacity_(std::max<size_t>(capacity, 1)) {}

void RecentUpdates::Send(const v1::Location& location) {
  const absl::Time now = absl::Now();
  MutexLock lock(&mu_);
  if (updates_.size() == capacity_) updates_.pop_front();
  updates_.push_back(RecentUpdate{location, now, ++accepted_});
}

std::vector<RecentUpdate> RecentUpdates::NewestFirst() const {
  MutexLock lock(&mu_);
  return {updates_.rbegin(), updates_.rend()};
}

}  // namespace herd
