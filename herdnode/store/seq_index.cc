#include "herdnode/store/seq_index.h"

#include <algorithm>
#include <iterator>

namespace herd {
namespace {

// 64 KiB of entries: compacting or merging one chunk takes microseconds,
// and a million clients need only a few hundred chunks.
constexpr size_t kChunkEntries = 4096;

}  // namespace

void SeqIndex::Append(uint64_t seq, const std::byte* record) {
  if (chunks_.empty() || chunks_.back().entries.size() >= kChunkEntries) {
    chunks_.emplace_back().first_seq = seq;
  }
  chunks_.back().entries.push_back(Entry{seq, record});
}

void SeqIndex::Remove(uint64_t seq) {
  if (chunks_.empty()) return;
  const size_t c = ChunkOf(seq);
  Chunk& chunk = chunks_[c];
  std::vector<Entry>& entries = chunk.entries;
  // A chunk without removals yet has consecutive seqs: look there first.
  size_t i = seq - chunk.first_seq;
  if (seq < chunk.first_seq || i >= entries.size() || entries[i].seq != seq) {
    i = static_cast<size_t>(
        std::distance(entries.begin(),
                      std::lower_bound(entries.begin(), entries.end(), seq,
                                       [](const Entry& entry, uint64_t value) {
                                         return entry.seq < value;
                                       })));
    if (i == entries.size() || entries[i].seq != seq) return;
  }
  if (entries[i].record == nullptr) return;
  entries[i].record = nullptr;
  if (2 * ++chunk.removed >= entries.size()) Compact(c);
}

size_t SeqIndex::held() const {
  size_t n = 0;
  for (const Chunk& chunk : chunks_) n += chunk.entries.size();
  return n;
}

size_t SeqIndex::ChunkOf(uint64_t seq) const {
  const auto after = std::upper_bound(chunks_.begin(), chunks_.end(), seq,
                                      [](uint64_t value, const Chunk& chunk) {
                                        return value < chunk.first_seq;
                                      });
  return after == chunks_.begin()
             ? 0
             : static_cast<size_t>(std::distance(chunks_.begin(), after)) - 1;
}

bool SeqIndex::After(uint64_t after, size_t max,
                     std::vector<Entry>& out) const {
  size_t taken = 0;
  for (size_t c = chunks_.empty() ? 0 : ChunkOf(after); c < chunks_.size();
       ++c) {
    const std::vector<Entry>& entries = chunks_[c].entries;
    // Only in the first chunk can entries be at or below after; searching
    // the others too keeps this simple and costs a few comparisons.
    for (auto it = std::upper_bound(entries.begin(), entries.end(), after,
                                    [](uint64_t value, const Entry&entry) {
                                      return value < entry.seq;
                                    });
         it != entries.end(); ++it) {
      if (it->record == nullptr) continue;
      if (taken == max) return true;
      out.push_back(*it);
      ++taken;
    }
  }
  return false;
}

void SeqIndex::Compact(size_t c) {
  // Indexes, not references: erasing from the middle of a deque invalidates
  // every reference into it.
  std::erase_if(chunks_[c].entries,
                [](const Entry& entry) { return entry.record == nullptr; });
  chunks_[c].removed = 0;
  if (chunks_[c].entries.empty()) {
    chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(c));
    return;
  }
  chunks_[c].first_seq = chunks_[c].entries.front().seq;
  auto fit = [&](size_t a) {
    return chunks_[a].entries.size() + chunks_[a + 1].entries.size() <=
           kChunkEntries;
  };
  if (c + 1 < chunks_.size() && fit(c)) MergeWithNext(c);
  if (c > 0 && fit(c - 1)) {
    MergeWithNext(c - 1);
    --c;
  }
  chunks_[c].entries.shrink_to_fit();  // the chunk's memory follows its entries
}

void SeqIndex::MergeWithNext(size_t c) {
  Chunk& chunk = chunks_[c];
  Chunk& next = chunks_[c + 1];
  chunk.entries.insert(chunk.entries.end(), next.entries.begin(),
                       next.entries.end());
  chunk.removed += next.removed;
  chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(c + 1));
}

}  // namespace herd
