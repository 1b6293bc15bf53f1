// Messages of a long-lived stream, written or read again and again (one per
// batch), without allocating their parts again for each. Clear() is no good
// for that: protobuf keeps a repeated field's cleared elements, but each
// element's Clear() deletes its singular sub-messages (a
// ReportLocationResponse's Location, its Instants, and their strings), and
// gRPC clears a message before parsing into it.
#ifndef HERD_COMMON_PROTO_REUSE_H_
#define HERD_COMMON_PROTO_REUSE_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "google/protobuf/arena.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace herd {

// Elements taken out of a field whole, sub-messages and string capacity
// included, to be appended to it (or another field) again. Not thread-safe.
template <typename Message>
class ElementPool {
 public:
  // Appends an element to field: one used before, still holding what it held
  // then (the caller must set every field it means to send), or a new one.
  Message* Append(google::protobuf::RepeatedPtrField<Message>* field) {
    if (free_.empty()) return field->Add();
    Message* element = free_.back().release();
    free_.pop_back();
    field->AddAllocated(element);
    return element;
  }

  // Takes every element out of field (leaving it empty) into the pool.
  void Reclaim(google::protobuf::RepeatedPtrField<Message>* field) {
    taken_.resize(static_cast<size_t>(field->size()));
    field->ExtractSubrange(0, field->size(), taken_.data());
    for (Message* element : taken_) free_.emplace_back(element);
  }

 private:
  std::vector<std::unique_ptr<Message>> free_;
  std::vector<Message*> taken_;  // scratch for Reclaim
};

// Where a stream's incoming messages are parsed: an arena whose first block
// stays between messages, so the parts of one message come from that block
// rather than a malloc each. (Strings longer than the short-string buffer are
// still on the heap: protobuf 3.21 keeps them there even in an arena.) Not
// thread-safe.
class ParseArena {
 public:
  explicit ParseArena(size_t first_block_bytes)
      : first_block_(std::make_unique<char[]>(first_block_bytes)),
        arena_(Options(first_block_.get(), first_block_bytes)) {}

  // An empty message to parse the next one into. Frees every message made
  // here before: the caller must be done with them.
  template <typename Message>
  Message* NewMessage() {
    arena_.Reset();
    return google::protobuf::Arena::CreateMessage<Message>(&arena_);
  }

 private:
  static google::protobuf::ArenaOptions Options(char* block, size_t bytes) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = bytes;
    return options;
  }

  std::unique_ptr<char[]> first_block_;  // before arena_, which uses it
  google::protobuf::Arena arena_;
};

}  // namespace herd

#endif  // HERD_COMMON_PROTO_REUSE_H_
