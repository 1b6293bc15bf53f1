// The order in which a store accepted its records: sequence number -> record,
// for paging "everything after seq N". 16 bytes per entry, in chunks of up
// to 4096 entries, so that every operation touches at most a few chunks:
// a replaced entry is removed where it is and its chunk compacted once half
// of it is gone, never in a pass over the whole index (at a million clients
// that pass would hold the store's lock for over 100 ms).
#ifndef HERD_HERDNODE_STORE_SEQ_INDEX_H_
#define HERD_HERDNODE_STORE_SEQ_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace herd {

class SeqIndex {
 public:
  struct Entry {
    uint64_t seq;
    const std::byte* record;  // nullptr inside the index: removed
  };

  // seq must be above every seq appended so far.
  void Append(uint64_t seq, const std::byte* record);

  // The entry for seq is gone (its record was accepted again under a newer
  // seq, or freed). Nothing happens if there is no such entry.
  void Remove(uint64_t seq);

  // Appends to out up to max entries with seq > after, lowest seq first.
  // Returns whether more entries follow them.
  bool After(uint64_t after, size_t max, std::vector<Entry>& out) const;

  // Entries held, removed ones not yet compacted away included.
  size_t held() const;

 private:
  struct Chunk {
    uint64_t first_seq = 0;  // entries.front().seq, kept here for searching
    size_t removed = 0;
    std::vector<Entry> entries;  // increasing seq, never empty
  };

  // The chunk that would hold seq: the last whose first_seq <= seq.
  size_t ChunkOf(uint64_t seq) const;
  // Drops chunk c's removed entries, and merges it with a neighbour when
  // both fit one chunk, so chunks stay more than half full on average.
  void Compact(size_t c);
  void MergeWithNext(size_t c);

  std::deque<Chunk> chunks_;  // increasing seq
};

}  // namespace herd

#endif  // HERD_HERDNODE_STORE_SEQ_INDEX_H_
