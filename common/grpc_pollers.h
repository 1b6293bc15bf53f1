// GrpcPollers: the threads that run all of a node's gRPC, each polling one
// completion queue of ours (docs/ARCHITECTURE.md, "Threads and ownership").
//
// Why not gRPC's callback API: in gRPC 1.51 it runs every reaction on a
// "callback alternative" completion queue polled by Clamp(cores / 2, 2, 16)
// threads of gRPC's own, and with the epoll1 poller the thread that wakes up
// hands the poller role to another waiting thread (a futex wake, a context
// switch) on every event: most of the node's context switches were that
// (docs/PERFORMANCE.md, "What it takes"). Here only our threads wait in gRPC,
// the thread that reads a socket is the one that acts on it, and with one
// poller there is nobody to hand the poller role to.
//
// A completion queue returns tags; every tag given to gRPC in herd is a
// CompletionTag, whose Complete(ok) runs on the poller thread of the queue
// it was started on.
#ifndef HERD_COMMON_GRPC_POLLERS_H_
#define HERD_COMMON_GRPC_POLLERS_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "grpcpp/completion_queue.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"

#if defined(__SANITIZE_THREAD__)
#define HERD_TSAN_TAGS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HERD_TSAN_TAGS 1
#endif
#endif
#ifdef HERD_TSAN_TAGS
#include <sanitizer/tsan_interface.h>
#endif

namespace herd {

// What herd gives gRPC as a tag. Complete is the one place completions are
// handled; the object behind the tag decides what it owns (see
// cq_reactor.h).
class CompletionTag {
 public:
  virtual void Complete(bool ok) = 0;

 protected:
  ~CompletionTag() = default;
};

// Every tag goes to gRPC through this, which returns it. gRPC orders what a
// thread did before it started an operation before the operation's tag
// comes out of the queue, but libgrpc is not built with ThreadSanitizer, so
// the TSan build says it again: a release here, an acquire in the poller
// before it touches the tag (see grpc_handoff.h). Free otherwise.
inline void* HandToGrpc(CompletionTag* tag) {
#ifdef HERD_TSAN_TAGS
  __tsan_release(tag);
#endif
  return tag;
}

// The poller's side of HandToGrpc: before the tag is touched.
inline CompletionTag* TakeFromGrpc(void* tag) {
#ifdef HERD_TSAN_TAGS
  __tsan_acquire(tag);
#endif
  return static_cast<CompletionTag*>(tag);
}

// Orders the start of an operation before the reaction to its completion
// for ThreadSanitizer, where HandToGrpc cannot: gRPC works on the call
// inside the function that starts the operation, after the release (it
// reads the message to send, stores a finish's status), and the reaction
// may refill that message or free the call. gRPC orders the two; TSan
// cannot see it. In TSan builds a mutex held while the operation
// starts and taken by the reaction first thing (the reaction cannot run
// before the start has begun, so it waits for its end); nothing otherwise.
class StartOrder {
 public:
  class Starting {
   public:
    explicit Starting(StartOrder& order) : order_(order) { order_.Lock(); }
    ~Starting() { order_.Unlock(); }
    Starting(const Starting&) = delete;
    Starting& operator=(const Starting&) = delete;

   private:
    StartOrder& order_;
  };
  // First thing in a reaction.
  void Reacting() {
    Lock();
    Unlock();
  }

 private:
#ifdef HERD_TSAN_TAGS
  void Lock() { mu_.lock(); }
  void Unlock() { mu_.unlock(); }
  std::mutex mu_;
#else
  void Lock() {}
  void Unlock() {}
#endif
};

class GrpcPollers {
 public:
  // One per core, at most 4 (beyond a few, threads only hand the poller
  // role around; see above). Node uses 1 unless told otherwise: on the
  // 2-core machines herd is measured on, the second core is the gateway's
  // and the log writer's.
  static int PerCore();

  // threads queues, each polled by its own thread once Start() runs. With
  // a builder, the queues are also the builder's server's queues for new
  // calls (ServerCompletionQueues); without, they serve client calls only.
  GrpcPollers(int threads, grpc::ServerBuilder* builder);
  ~GrpcPollers();  // Stop()

  GrpcPollers(const GrpcPollers&) = delete;
  GrpcPollers& operator=(const GrpcPollers&) = delete;

  void Start();
  // Shuts the queues down, lets the threads drain them, joins them. Every
  // call must be over (its last tag completed) and the servers shut down.
  // Idempotent.
  void Stop();

  size_t size() const { return queues_.size(); }
  grpc::CompletionQueue* queue(size_t i) const { return queues_[i]; }
  // Only with a builder.
  grpc::ServerCompletionQueue* server_queue(size_t i) const {
    return server_queues_[i].get();
  }
  // The queue a new client call goes on: round robin.
  grpc::CompletionQueue* NextQueue();

  // builder.BuildAndStart(), with this one's queues also registered as that
  // server's queues for new calls, so the same threads poll a second server
  // (the operator listener) without a thread of its own. The builder gets
  // one queue of its own that nobody polls (gRPC wants a server to have
  // one); nothing is requested on it. Keep the result until the server is
  // shut down, then Stop() it with the pollers.
  struct SharedServer {
    // Declared first: destroyed after the server.
    std::unique_ptr<grpc::ServerCompletionQueue> unpolled;
    std::unique_ptr<grpc::Server> server;
  };
  SharedServer BuildSharing(grpc::ServerBuilder& builder);

 private:
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> server_queues_;
  std::vector<std::unique_ptr<grpc::CompletionQueue>> client_queues_;
  std::vector<grpc::CompletionQueue*> queues_;  // one of the two above
  std::vector<std::jthread> threads_;
  std::atomic<size_t> next_{0};
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace herd

#endif  // HERD_COMMON_GRPC_POLLERS_H_
