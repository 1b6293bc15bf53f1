// A small thread-safe cache whose entries expire after a fixed time, bounded
// in size: identical Google Places queries within the TTL are answered from
// memory instead of spending quota.
#ifndef HERD_HERDNODE_PLACES_TTL_CACHE_H_
#define HERD_HERDNODE_PLACES_TTL_CACHE_H_

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace herd::places {

template <typename Key, typename Value>
class TtlCache {
 public:
  using Clock = std::function<absl::Time()>;

  // max_entries > 0. The clock is injectable so tests need not sleep.
  TtlCache(absl::Duration ttl, size_t max_entries, Clock now = &absl::Now)
      : ttl_(ttl), max_entries_(max_entries), now_(std::move(now)) {}

  // The value stored for key, unless it has expired.
  std::optional<Value> Get(const Key& key) {
    const absl::Time now = now_();
    herd::MutexLock lock(&mu_);
    const auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    if (it->second.expires <= now) {
      entries_.erase(it);
      return std::nullopt;
    }
    return it->second.value;
  }

  // Stores value for key for the TTL. When full, expired entries go first,
  // then the one closest to expiry (the oldest), so memory stays bounded.
  void Put(const Key& key, Value value) {
    const absl::Time now = now_();
    herd::MutexLock lock(&mu_);
    if (entries_.size() >= max_entries_ && !entries_.contains(key)) {
      std::erase_if(entries_,
                    [now](const auto& kv) { return kv.second.expires <= now; });
      if (entries_.size() >= max_entries_) EvictOldestLocked();
    }
    entries_.insert_or_assign(key, Entry{std::move(value), now + ttl_});
  }

  size_t size() {
    herd::MutexLock lock(&mu_);
    return entries_.size();
  }

 private:
  struct Entry {
    Value value;
    absl::Time expires;
  };

  void EvictOldestLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto oldest = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.expires < oldest->second.expires) oldest = it;
    }
    if (oldest != entries_.end()) entries_.erase(oldest);
  }

  const absl::Duration ttl_;
  const size_t max_entries_;
  const Clock now_;
  herd::Mutex mu_;
  std::map<Key, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd::places

#endif  // HERD_HERDNODE_PLACES_TTL_CACHE_H_
