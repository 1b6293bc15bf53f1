// GrpcHandoff: the order gRPC guarantees between the thread that starts an
// operation and the one that handles its completion, carried by an atomic
// that ThreadSanitizer can see. (Written for the callback API; the calls on
// completion queues of cq_reactor.h, and the tests' callback fakes, use it
// the same way.)
//
// gRPC promises that what a thread did before StartRead, StartWrite,
// StartCall or Finish happens before the reaction reporting that operation
// (OnReadDone, OnWriteDone, ...), that a service object built before the
// server started happens before its method handlers, and that every reaction
// of a reactor has returned before its OnDone. It keeps those promises with
// locks and atomics inside libgrpc, which Debian does not build with
// ThreadSanitizer, so the TSan build sees none of them: a reactor created on
// one gRPC thread and used or freed on the next looks raced. A GrpcHandoff
// per object says the same thing again where TSan can see it: Release() just
// before handing the object to gRPC, Acquire() first thing in the callback
// gRPC makes for it. It costs one uncontended atomic operation each, and it
// orders nothing that gRPC does not already order.
#ifndef HERD_COMMON_GRPC_HANDOFF_H_
#define HERD_COMMON_GRPC_HANDOFF_H_

#include <atomic>
#include <cstdint>

namespace herd {

class GrpcHandoff {
 public:
  GrpcHandoff() = default;
  GrpcHandoff(const GrpcHandoff&) = delete;
  GrpcHandoff& operator=(const GrpcHandoff&) = delete;

  // Everything this thread did so far happens before the next Acquire().
  void Release() { hand_offs_.fetch_add(1, std::memory_order_release); }
  // Everything before any earlier Release() happens before what follows.
  void Acquire() const { (void)hand_offs_.load(std::memory_order_acquire); }

 private:
  std::atomic<uint64_t> hand_offs_{0};
};

// For the body of a reaction: Acquire() on entry (the operation it reports
// was started after a Release()), Release() on return (so OnDone, which gRPC
// runs after every reaction has returned, sees all of them). Not for OnDone
// itself when it frees the object: call Acquire() there.
class GrpcReaction {
 public:
  explicit GrpcReaction(GrpcHandoff& handoff) : handoff_(handoff) {
    handoff_.Acquire();
  }
  GrpcReaction(const GrpcReaction&) = delete;
  GrpcReaction& operator=(const GrpcReaction&) = delete;
  ~GrpcReaction() { handoff_.Release(); }

 private:
  GrpcHandoff& handoff_;
};

}  // namespace herd

#endif  // HERD_COMMON_GRPC_HANDOFF_H_
