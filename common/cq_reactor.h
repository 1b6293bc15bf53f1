// Calls on completion queues (grpc_pollers.h) with the shape of gRPC's
// callback reactors: StartRead, StartWrite, Finish, OnReadDone, OnWriteDone,
// OnCancel, OnDone, holds. The stream code of herd was written against that
// shape, and keeps its logic; what changes is who runs the reactions: the
// poller thread of the queue the call is on, not gRPC's callback threads.
//
// Ownership. A server call is made (by its ServerCalls' factory) before it
// arrives, because gRPC fills its context and request as it arrives; until
// then the pending request owns it (it goes when the server shuts down and
// the request fails). Once it arrives it owns itself: a count of what still
// refers to it (each operation in flight, the done notification, and "not
// finished yet") keeps it, and when the count reaches zero OnDone() runs and
// the call is destroyed. A client call is owned by whoever made it, who
// learns from OnDone(status) that gRPC is done with it and may free it then
// (not before).
//
// Operations may be started from any thread (at most one read and one write
// in flight, as gRPC requires); every hand-off goes through a GrpcHandoff so
// that ThreadSanitizer sees the order gRPC guarantees (grpc_handoff.h).
#ifndef HERD_COMMON_CQ_REACTOR_H_
#define HERD_COMMON_CQ_REACTOR_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/grpc_handoff.h"
#include "common/grpc_pollers.h"
#include "common/mutex.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/async_stream.h"
#include "grpcpp/support/async_unary_call.h"
#include "grpcpp/support/status.h"

namespace herd {

// A tag that runs one member function of its owner: one per kind of
// operation, a member of the call, so no operation allocates a tag.
template <typename Owner>
class MemberTag final : public CompletionTag {
 public:
  using Handler = void (Owner::*)(bool ok);
  MemberTag(Owner* owner, Handler handler) : owner_(owner), handler_(handler) {}
  void Complete(bool ok) override { (owner_->*handler_)(ok); }

 private:
  Owner* const owner_;
  const Handler handler_;
};

class ServerCallBase;

// The calls of one server's services: keeps a call of each kind requested
// on every queue, counts the calls alive, and after the server has shut
// down waits until none is (the queues must be polled meanwhile).
class ServerCalls {
 public:
  using Factory = std::function<std::unique_ptr<ServerCallBase>()>;

  ServerCalls() = default;
  ServerCalls(const ServerCalls&) = delete;
  ServerCalls& operator=(const ServerCalls&) = delete;

  // Requests a call made by factory on each queue of pollers (queues of
  // the server the calls' services are registered on), and the next one
  // whenever one arrives. Before the pollers start.
  void Serve(const GrpcPollers& pollers, Factory factory);
  // Once the server is shut down: every call made here is destroyed when
  // this returns.
  void AwaitNone();

 private:
  friend class ServerCallBase;
  void Request(const Factory& factory, grpc::ServerCompletionQueue* queue);
  void Add();
  void Remove();

  Mutex mu_;
  int alive_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::unique_ptr<Factory>> factories_;
};

// One server call, of any kind.
class ServerCallBase {
 public:
  virtual ~ServerCallBase();
  ServerCallBase(const ServerCallBase&) = delete;
  ServerCallBase& operator=(const ServerCallBase&) = delete;

  grpc::ServerContext& context() { return context_; }
  // Whether the call was cancelled (by the client, its deadline or the
  // server shutting down), as far as this end knows yet.
  bool IsCancelled() const {
    return cancelled_.load(std::memory_order_acquire);
  }

 protected:
  // notify_when_done: learn of cancellation (OnCancel) even with nothing
  // in flight; streams want that, unary calls need not.
  explicit ServerCallBase(bool notify_when_done)
      : notify_when_done_(notify_when_done) {}

  // Requests this call on queue with tag (the generated Request* method of
  // the service, with queue as both the call's and the notification queue).
  virtual void RequestCall(grpc::ServerCompletionQueue* queue,
                           CompletionTag* tag) = 0;
  // The call arrived (context and request are filled in).
  virtual void Begin() = 0;
  virtual void OnCancel() {}
  // Last: every operation is over. The call is destroyed right after.
  virtual void OnDone() {}

  // For the operations of derived classes: Ref() before starting one
  // (after which the handoff is released), Unref() when it completes.
  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref();
  GrpcHandoff handoff_;
  // Held while an operation starts, taken first by its reaction (an
  // operation's start writes into the call after HandToGrpc's release).
  StartOrder start_order_;

 private:
  friend class ServerCalls;
  void Arrived(bool ok);
  void DoneNotified(bool ok);

  const bool notify_when_done_;
  grpc::ServerContext context_;
  ServerCalls* calls_ = nullptr;
  const ServerCalls::Factory* factory_ = nullptr;
  grpc::ServerCompletionQueue* queue_ = nullptr;
  MemberTag<ServerCallBase> arrived_tag_{this, &ServerCallBase::Arrived};
  MemberTag<ServerCallBase> done_tag_{this, &ServerCallBase::DoneNotified};
  std::atomic<bool> cancelled_{false};
  // "Not finished yet" (dropped by Finish) and what is in flight.
  std::atomic<int> refs_{1};
};

// A unary call: Handle() runs when it arrives and must lead to exactly one
// Finish, from any thread, at any time.
template <typename Request, typename Response>
class ServerUnaryCall : public ServerCallBase {
 public:
  const Request& request() const { return request_; }
  Response* response() { return &response_; }

  // Sends response() if status is OK, else status alone.
  // The send takes over the "not finished" reference, so OnDone never runs
  // on the thread that calls Finish (which may hold a lock OnDone needs).
  void Finish(const grpc::Status& status) {
    handoff_.Release();
    StartOrder::Starting starting(start_order_);
    responder_.Finish(response_, status, HandToGrpc(&finish_tag_));
  }

 protected:
  ServerUnaryCall() : ServerCallBase(/*notify_when_done=*/false) {}
  Request* mutable_request() { return &request_; }
  grpc::ServerAsyncResponseWriter<Response>* responder() { return &responder_; }

 private:
  void Sent(bool /*ok*/) {
    start_order_.Reacting();
    handoff_.Acquire();
    Unref();
  }

  Request request_;
  Response response_;
  grpc::ServerAsyncResponseWriter<Response> responder_{&context()};
  MemberTag<ServerUnaryCall> finish_tag_{this, &ServerUnaryCall::Sent};
};

// A unary call whose handler is a function: most of a service's methods.
// RequestMethod is the generated AsyncService::RequestX.
template <typename Service, typename Request, typename Response>
class FunctionUnaryCall final : public ServerUnaryCall<Request, Response> {
 public:
  using RequestMethod = void (Service::*)(
      grpc::ServerContext*, Request*,
      grpc::ServerAsyncResponseWriter<Response>*, grpc::CompletionQueue*,
      grpc::ServerCompletionQueue*, void*);
  using Handler = std::function<void(FunctionUnaryCall&)>;

  FunctionUnaryCall(Service& service, RequestMethod method,
                    const Handler& handler)
      : service_(service), method_(method), handler_(handler) {}

  // A factory for ServerCalls::Serve; handler runs on every call.
  static ServerCalls::Factory Factory(Service& service, RequestMethod method,
                                      Handler handler) {
    return [&service, method, handler = std::move(handler)] {
      return std::make_unique<FunctionUnaryCall>(service, method, handler);
    };
  }

 private:
  void RequestCall(grpc::ServerCompletionQueue* queue,
                   CompletionTag* tag) override {
    (service_.*method_)(&this->context(), this->mutable_request(),
                        this->responder(), queue, queue, tag);
  }
  void Begin() override { handler_(*this); }

  Service& service_;
  const RequestMethod method_;
  const Handler& handler_;  // the factory's, which outlives its calls
};

// What the server ends of streams share: writes and the finish, on Stream
// (grpc::ServerAsyncReaderWriter or grpc::ServerAsyncWriter).
template <typename Stream, typename Response>
class ServerStreamCall : public ServerCallBase {
 protected:
  ServerStreamCall() : ServerCallBase(/*notify_when_done=*/true) {}
  Stream* stream() { return &stream_; }

  void StartWrite(const Response* message) {
    Ref();
    handoff_.Release();
    StartOrder::Starting starting(start_order_);
    stream_.Write(*message, HandToGrpc(&write_tag_));
  }
  // Like Finish, the operation takes over the "not finished" reference.
  void StartWriteAndFinish(const Response* message, grpc::Status status) {
    handoff_.Release();
    StartOrder::Starting starting(start_order_);
    stream_.WriteAndFinish(*message, grpc::WriteOptions(), status,
                           HandToGrpc(&finish_tag_));
  }
  // The finish operation takes over the "not finished" reference, so
  // OnDone never runs on the thread that calls Finish (WatchHub::Stop ends
  // its watchers under the lock that OnDone's Remove takes).
  void Finish(grpc::Status status) {
    handoff_.Release();
    StartOrder::Starting starting(start_order_);
    stream_.Finish(status, HandToGrpc(&finish_tag_));
  }

  virtual void OnWriteDone(bool /*ok*/) {}

 private:
  void WriteDone(bool ok) {
    start_order_.Reacting();
    {
      GrpcReaction reaction(handoff_);
      OnWriteDone(ok);
    }
    Unref();
  }
  void FinishDone(bool /*ok*/) {
    start_order_.Reacting();
    handoff_.Acquire();
    Unref();
  }

  Stream stream_{&context()};
  MemberTag<ServerStreamCall> write_tag_{this, &ServerStreamCall::WriteDone};
  MemberTag<ServerStreamCall> finish_tag_{this, &ServerStreamCall::FinishDone};
};

// The server end of a bidirectional stream, like grpc::ServerBidiReactor.
template <typename Request, typename Response>
class ServerBidiCall
    : public ServerStreamCall<grpc::ServerAsyncReaderWriter<Response, Request>,
                              Response> {
 protected:
  void StartRead(Request* into) {
    this->Ref();
    this->handoff_.Release();
    StartOrder::Starting starting(this->start_order_);
    this->stream()->Read(into, HandToGrpc(&read_tag_));
  }

  virtual void OnReadDone(bool /*ok*/) {}

 private:
  void ReadDone(bool ok) {
    this->start_order_.Reacting();
    {
      GrpcReaction reaction(this->handoff_);
      OnReadDone(ok);
    }
    this->Unref();
  }

  MemberTag<ServerBidiCall> read_tag_{this, &ServerBidiCall::ReadDone};
};

// The server end of a server-streaming call, like grpc::ServerWriteReactor.
template <typename Request, typename Response>
class ServerWriteCall
    : public ServerStreamCall<grpc::ServerAsyncWriter<Response>, Response> {
 public:
  const Request& request() const { return request_; }

 protected:
  Request* mutable_request() { return &request_; }

 private:
  Request request_;
};

// The client end of a bidirectional stream, like grpc::ClientBidiReactor:
// reads and writes started before StartCall wait for it; once the holds
// are removed and nothing is in flight, the status is fetched and
// OnDone(status) runs, after which the owner may free the call.
template <typename Request, typename Response>
class ClientBidiCall {
 public:
  virtual ~ClientBidiCall() = default;
  ClientBidiCall(const ClientBidiCall&) = delete;
  ClientBidiCall& operator=(const ClientBidiCall&) = delete;

 protected:
  ClientBidiCall() = default;

  grpc::ClientContext* context() { return &context_; }
  // The stream of a PrepareAsync* call of the stub, on the queue whose
  // poller is to run the reactions.
  void Bind(
      std::unique_ptr<grpc::ClientAsyncReaderWriter<Request, Response>> s) {
    stream_ = std::move(s);
  }

  void StartCall() {
    {
      MutexLock lock(&mu_);
      ++in_flight_;
      call_started_ = true;
    }
    handoff_.Release();
    StartOrder::Starting starting(start_order_);
    stream_->StartCall(HandToGrpc(&started_tag_));
  }
  void StartRead(Response* into) {
    {
      MutexLock lock(&mu_);
      ++in_flight_;
      if (!started_) {
        queued_read_ = into;
        return;
      }
    }
    handoff_.Release();
    StartOrder::Starting starting(start_order_);
    stream_->Read(into, HandToGrpc(&read_tag_));
  }
  void StartWrite(const Request* message) {
    {
      MutexLock lock(&mu_);
      ++in_flight_;
      if (!started_) {
        queued_write_ = message;
        return;
      }
    }
    handoff_.Release();
    StartOrder::Starting starting(start_order_);
    stream_->Write(*message, HandToGrpc(&write_tag_));
  }
  void AddHold() {
    MutexLock lock(&mu_);
    ++holds_;
  }
  void RemoveHold() {
    bool finish = false;
    {
      MutexLock lock(&mu_);
      --holds_;
      finish = ClaimFinishLocked();
    }
    if (finish) StartFinish();
  }

  virtual void OnReadDone(bool /*ok*/) {}
  virtual void OnWriteDone(bool /*ok*/) {}
  // Last; the owner may free the call in it.
  virtual void OnDone(const grpc::Status& status) = 0;

  GrpcHandoff handoff_;

 private:
  // True exactly once: when the call may end (see above).
  bool ClaimFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finishing_ || !call_started_ || holds_ > 0 || in_flight_ > 0) {
      return false;
    }
    finishing_ = true;
    return true;
  }
  void StartFinish() {
    handoff_.Release();
    StartOrder::Starting starting(start_order_);
    stream_->Finish(&status_, HandToGrpc(&finish_tag_));
  }
  // After a reaction: one operation less in flight.
  void OperationOver() {
    bool finish = false;
    {
      MutexLock lock(&mu_);
      --in_flight_;
      finish = ClaimFinishLocked();
    }
    if (finish) StartFinish();
  }

  void Started(bool /*ok*/) {
    start_order_.Reacting();
    Response* read = nullptr;
    const Request* write = nullptr;
    {
      GrpcReaction reaction(handoff_);
      MutexLock lock(&mu_);
      started_ = true;
      read = std::exchange(queued_read_, nullptr);
      write = std::exchange(queued_write_, nullptr);
    }
    // A call that failed to start fails these too, which ends it.
    if (read != nullptr) {
      handoff_.Release();
      StartOrder::Starting starting(start_order_);
      stream_->Read(read, HandToGrpc(&read_tag_));
    }
    if (write != nullptr) {
      handoff_.Release();
      StartOrder::Starting starting(start_order_);
      stream_->Write(*write, HandToGrpc(&write_tag_));
    }
    OperationOver();
  }
  void ReadDone(bool ok) {
    start_order_.Reacting();
    {
      GrpcReaction reaction(handoff_);
      OnReadDone(ok);
    }
    OperationOver();
  }
  void WriteDone(bool ok) {
    start_order_.Reacting();
    {
      GrpcReaction reaction(handoff_);
      OnWriteDone(ok);
    }
    OperationOver();
  }
  void Finished(bool /*ok*/) {
    start_order_.Reacting();
    handoff_.Acquire();
    const grpc::Status status = status_;  // OnDone may free this
    OnDone(status);
  }

  grpc::ClientContext context_;
  StartOrder start_order_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<Request, Response>> stream_;
  grpc::Status status_;
  MemberTag<ClientBidiCall> started_tag_{this, &ClientBidiCall::Started};
  MemberTag<ClientBidiCall> read_tag_{this, &ClientBidiCall::ReadDone};
  MemberTag<ClientBidiCall> write_tag_{this, &ClientBidiCall::WriteDone};
  MemberTag<ClientBidiCall> finish_tag_{this, &ClientBidiCall::Finished};

  Mutex mu_;
  bool call_started_ ABSL_GUARDED_BY(mu_) = false;  // StartCall was called
  bool started_ ABSL_GUARDED_BY(mu_) = false;       // and has completed
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  int holds_ ABSL_GUARDED_BY(mu_) = 0;
  // Operations started (or waiting for StartCall) and not yet reacted to;
  // StartCall itself counts until it completes.
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  Response* queued_read_ ABSL_GUARDED_BY(mu_) = nullptr;
  const Request* queued_write_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace herd

#endif  // HERD_COMMON_CQ_REACTOR_H_
