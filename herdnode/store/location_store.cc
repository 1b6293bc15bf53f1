#include "herdnode/store/location_store.h"

#include <algorithm>
#include <compare>
#include <deque>
#include <string>
#include <vector>

#include "absl/hash/hash.h"

namespace herd {
namespace {

// Origin servers are few (a herd's members); past this many names, records
// keep theirs inline instead of growing the table without bound.
constexpr size_t kMaxInternedServers = 1024;
static_assert(kMaxInternedServers < CompactLocation::kInlineServer);

// The interned name a record refers to, or nullptr when it holds its own.
const std::string* InternedName(const std::deque<std::string>& servers,
                                const std::byte* record) {
  const uint16_t index = CompactLocation::ServerIndexOf(record);
  return index == CompactLocation::kInlineServer ? nullptr : &servers[index];
}

absl::string_view ToAbsl(std::string_view text) {
  // Debian's absl::string_view is not std::string_view; convert explicitly.
  return {text.data(), text.size()};
}

}  // namespace

size_t LocationStore::SlotHash::operator()(absl::string_view client_id) const {
  return absl::Hash<absl::string_view>{}(client_id);
}
size_t LocationStore::SlotHash::operator()(const Slot& slot) const {
  return (*this)(ToAbsl(slot.record.client_id()));
}
bool LocationStore::SlotEq::operator()(const Slot& a, const Slot& b) const {
  return a.record.client_id() == b.record.client_id();
}
bool LocationStore::SlotEq::operator()(const Slot& a,
                                       absl::string_view b) const {
  return ToAbsl(a.record.client_id()) == b;
}
bool LocationStore::SlotEq::operator()(absl::string_view a,
                                       const Slot& b) const {
  return a == ToAbsl(b.record.client_id());
}

// Copying a record is a memcpy of about 100 bytes into one shared buffer;
// building its v1::Location (six allocations) is left for after the lock,
// so a Sync page or snapshot does not hold up Offer for long.
class LocationStore::Copies {
 public:
  void Reserve(size_t records) { items_.reserve(records); }

  void Add(uint64_t seq, const std::byte* record, const std::string* server) {
    const std::string_view bytes = CompactLocation::BytesOf(record);
    items_.push_back(Item{seq, buffer_.size(), bytes.size(), server});
    buffer_.append(bytes);
  }

  size_t size() const { return items_.size(); }

  StoreEntry Decode(size_t i) const {
    const Item& item = items_[i];
    const std::string_view buffer = buffer_;
    return StoreEntry{
        item.seq,
        CompactLocation::Decode(buffer.substr(item.offset, item.size),
                                item.server == nullptr ? "" : *item.server)};
  }

 private:
  struct Item {
    uint64_t seq;
    size_t offset;
    size_t size;
    const std::string* server;  // interned name, or nullptr if inline
  };
  std::string buffer_;
  std::vector<Item> items_;
};

v1::UpdateOutcome LocationStore::Offer(const v1::Location& location) {
  const absl::string_view client_id = ToAbsl(location.client_id());
  MutexLock lock(&mu_);
  const uint64_t seq = next_seq_;
  auto it = by_client_.find(client_id);
  if (it == by_client_.end()) {
    it = by_client_
             .insert(Slot{CompactLocation(
                 location, seq, InternServer(location.origin_server()))})
             .first;
  } else {
    const CompactLocation& held = it->record;
    const auto held_vs_offered = held.CompareClientTime(location.client_time());
    if (std::is_eq(held_vs_offered)) return v1::UPDATE_OUTCOME_DUPLICATE;
    if (std::is_gt(held_vs_offered)) return v1::UPDATE_OUTCOME_STALE;
    // Out of the index before Replace, which may free the block it points at.
    by_seq_.Remove(held.seq());
    it->record.Replace(location, seq, InternServer(location.origin_server()));
  }
  ++next_seq_;
  by_seq_.Append(seq, it->record.data());
  return v1::UPDATE_OUTCOME_ACCEPTED;
}

std::optional<v1::Location> LocationStore::Get(
    std::string_view client_id) const {
  Copies copy;
  {
    MutexLock lock(&mu_);
    auto it = by_client_.find(ToAbsl(client_id));
    if (it == by_client_.end()) return std::nullopt;
    const std::byte* record = it->record.data();
    copy.Add(it->record.seq(), record, InternedName(servers_, record));
  }
  return copy.Decode(0).location;
}

StorePage LocationStore::EntriesAfter(uint64_t after_seq, size_t max) const {
  Copies copies;
  StorePage page;
  {
    MutexLock lock(&mu_);
    std::vector<SeqIndex::Entry> entries;
    entries.reserve(std::min(max, by_client_.size()));
    page.more = by_seq_.After(after_seq, max, entries);
    copies.Reserve(entries.size());
    for (const SeqIndex::Entry& entry : entries) {
      copies.Add(entry.seq, entry.record, InternedName(servers_, entry.record));
    }
  }
  page.entries.reserve(copies.size());
  for (size_t i = 0; i < copies.size(); ++i) {
    page.entries.push_back(copies.Decode(i));
  }
  return page;
}

size_t LocationStore::size() const {
  MutexLock lock(&mu_);
  return by_client_.size();
}

uint64_t LocationStore::last_seq() const {
  MutexLock lock(&mu_);
  return next_seq_ - 1;
}

uint16_t LocationStore::InternServer(const std::string& name) {
  if (auto it = server_index_.find(name); it != server_index_.end()) {
    return it->second;
  }
  if (servers_.size() >= kMaxInternedServers) {
    return CompactLocation::kInlineServer;
  }
  const auto index = static_cast<uint16_t>(servers_.size());
  servers_.push_back(name);
  server_index_.emplace(name, index);
  return index;
}

}  // namespace herd
