#include "common/grpc_pollers.h"

#include <pthread.h>

#include <algorithm>
#include <memory>

#include "grpc/grpc.h"

namespace herd {
namespace {

// The queues BuildSharing registers with the server being built on this
// thread. gRPC's C++ builder cannot share queues between servers, but its
// C core can, if told before the server starts: Server::GlobalCallbacks'
// PreServerStart is the one hook that runs then with the server at hand.
thread_local const std::vector<grpc::CompletionQueue*>* tls_shared_queues =
    nullptr;

class ShareQueuesAtStart final : public grpc::Server::GlobalCallbacks {
 public:
  void PreSynchronousRequest(grpc::ServerContext* /*context*/) override {}
  void PostSynchronousRequest(grpc::ServerContext* /*context*/) override {}
  void PreServerStart(grpc::Server* server) override {
    if (tls_shared_queues == nullptr) return;
    for (grpc::CompletionQueue* queue : *tls_shared_queues) {
      grpc_server_register_completion_queue(server->c_server(), queue->cq(),
                                            nullptr);
    }
  }
};

// gRPC takes global callbacks once per process, before any server is
// constructed (it asserts so), and owns them: installed while the program
// starts, in every program that can call BuildSharing.
const bool kShareQueuesInstalled = [] {
  grpc::Server::SetGlobalCallbacks(
      std::make_unique<ShareQueuesAtStart>().release());
  return true;
}();

void Drain(grpc::CompletionQueue& queue) {
  void* tag = nullptr;
  bool ok = false;
  while (queue.Next(&tag, &ok)) {
    TakeFromGrpc(tag)->Complete(ok);
  }
}

}  // namespace

int GrpcPollers::PerCore() {
  const unsigned cores = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(cores, 1U, 4U));
}

GrpcPollers::GrpcPollers(int threads, grpc::ServerBuilder* builder) {
  (void)kShareQueuesInstalled;
  threads = std::max(threads, 1);
  for (int i = 0; i < threads; ++i) {
    if (builder != nullptr) {
      server_queues_.push_back(builder->AddCompletionQueue());
      queues_.push_back(server_queues_.back().get());
    } else {
      client_queues_.push_back(std::make_unique<grpc::CompletionQueue>());
      queues_.push_back(client_queues_.back().get());
    }
  }
}

GrpcPollers::~GrpcPollers() { Stop(); }

void GrpcPollers::Start() {
  if (started_) return;
  started_ = true;
  for (grpc::CompletionQueue* queue : queues_) {
    threads_.emplace_back([queue] {
      // Named so that per-thread figures (/proc/PID/task) show it.
      pthread_setname_np(pthread_self(), "grpc_poller");
      Drain(*queue);
    });
  }
}

void GrpcPollers::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (grpc::CompletionQueue* queue : queues_) queue->Shutdown();
  if (!started_) {
    for (grpc::CompletionQueue* queue : queues_) Drain(*queue);
  }
  for (std::jthread& thread : threads_) thread.join();
}

grpc::CompletionQueue* GrpcPollers::NextQueue() {
  return queues_[next_.fetch_add(1, std::memory_order_relaxed) %
                 queues_.size()];
}

GrpcPollers::SharedServer GrpcPollers::BuildSharing(
    grpc::ServerBuilder& builder) {
  SharedServer shared;
  shared.unpolled = builder.AddCompletionQueue();
  tls_shared_queues = &queues_;
  shared.server = builder.BuildAndStart();
  tls_shared_queues = nullptr;
  return shared;
}

}  // namespace herd
