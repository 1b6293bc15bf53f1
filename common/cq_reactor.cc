#include "common/cq_reactor.h"

namespace herd {

void ServerCalls::Serve(const GrpcPollers& pollers, Factory factory) {
  factories_.push_back(std::make_unique<Factory>(std::move(factory)));
  for (size_t i = 0; i < pollers.size(); ++i) {
    Request(*factories_.back(), pollers.server_queue(i));
  }
}

void ServerCalls::Request(const Factory& factory,
                          grpc::ServerCompletionQueue* queue) {
  std::unique_ptr<ServerCallBase> call = factory();
  call->calls_ = this;
  call->factory_ = &factory;
  call->queue_ = queue;
  Add();
  if (call->notify_when_done_) {
    // Only delivered if the call arrives (gRPC asks for it before).
    call->context_.AsyncNotifyWhenDone(HandToGrpc(&call->done_tag_));
  }
  ServerCallBase* requested = call.get();
  requested->handoff_.Release();
  // The pending request owns the call now; Arrived takes it back.
  HandToGrpc(&requested->arrived_tag_);
  requested->RequestCall(queue, &requested->arrived_tag_);
  (void)call.release();
}

void ServerCalls::AwaitNone() {
  MutexLock lock(&mu_);
  mu_.Await([this]()
                ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return alive_ == 0; });
}

void ServerCalls::Add() {
  MutexLock lock(&mu_);
  ++alive_;
}

void ServerCalls::Remove() {
  MutexLock lock(&mu_);
  --alive_;
}

ServerCallBase::~ServerCallBase() {
  if (calls_ != nullptr) calls_->Remove();
}

void ServerCallBase::Arrived(bool ok) {
  handoff_.Acquire();
  std::unique_ptr<ServerCallBase> self(this);  // from the pending request
  if (!ok) return;  // the server is shutting down: no call came
  // The next call of this kind may arrive while this one runs.
  calls_->Request(*factory_, queue_);
  if (notify_when_done_) Ref();  // the done notification
  Ref();                         // Begin's own: it may finish the call
  (void)self.release();          // owned by its references from here on
  {
    GrpcReaction reaction(handoff_);
    Begin();
  }
  Unref();
}

void ServerCallBase::DoneNotified(bool /*ok*/) {
  {
    GrpcReaction reaction(handoff_);
    if (context_.IsCancelled()) {
      cancelled_.store(true, std::memory_order_release);
      OnCancel();
    }
  }
  Unref();
}

void ServerCallBase::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  handoff_.Acquire();
  OnDone();
  const std::unique_ptr<ServerCallBase> last(this);
}

}  // namespace herd
