// Callback-API stream reactors whose every hand-off to and from gRPC goes
// through one GrpcHandoff (see grpc_handoff.h), so that ThreadSanitizer sees
// the order gRPC guarantees. herdnode itself no longer uses the callback API
// (common/cq_reactor.h); the fakes of the tests do.
//
// A derived class starts operations with the HandOff* calls (each releases
// the handoff, then hands the operation to gRPC) and does its work in the
// reactions ReadDone, WriteDone and Done; the gRPC callbacks that run them
// are final here, so no reaction can forget to acquire the handoff.
#ifndef HERD_TESTS_GATEWAY_HANDOFF_STREAM_H_
#define HERD_TESTS_GATEWAY_HANDOFF_STREAM_H_

#include <memory>
#include <utility>

#include "common/grpc_handoff.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"

namespace herd {
namespace handoff_internal {

// What both ends share: reads, writes and their reactions. GrpcReactor is
// grpc::ServerBidiReactor or grpc::ClientBidiReactor.
template <typename GrpcReactor>
class HandoffReactor : public GrpcReactor {
 protected:
  template <typename Message>
  void HandOffRead(Message* into) {
    handoff_.Release();
    this->StartRead(into);
  }
  template <typename Message>
  void HandOffWrite(const Message* message) {
    handoff_.Release();
    this->StartWrite(message);
  }

  // The reactions, each inside a GrpcReaction.
  virtual void ReadDone(bool ok) = 0;
  virtual void WriteDone(bool /*ok*/) {}

  GrpcHandoff handoff_;

 private:
  void OnReadDone(bool ok) final {
    GrpcReaction reaction(handoff_);
    ReadDone(ok);
  }
  void OnWriteDone(bool ok) final {
    GrpcReaction reaction(handoff_);
    WriteDone(ok);
  }
};

}  // namespace handoff_internal

// The server end of a stream. It owns itself: gRPC's OnDone runs Done(),
// then deletes it.
template <typename Request, typename Response>
class HandoffServerStream : public handoff_internal::HandoffReactor<
                                grpc::ServerBidiReactor<Request, Response>> {
 protected:
  // The method handler's last step before it returns the reactor: gRPC binds
  // it on another thread, and what was started before that (a first read)
  // is only recorded in the reactor itself.
  void HandOffReactor() { this->handoff_.Release(); }

  void HandOffWriteAndFinish(const Response* message, grpc::Status status) {
    this->handoff_.Release();
    this->StartWriteAndFinish(message, grpc::WriteOptions(), std::move(status));
  }
  void HandOffFinish(grpc::Status status) {
    this->handoff_.Release();
    this->Finish(std::move(status));
  }

  // gRPC is done with the stream: every reaction has returned. The stream
  // is deleted right after.
  virtual void Done() {}

 private:
  void OnDone() final {
    this->handoff_.Acquire();
    const std::unique_ptr<HandoffServerStream> self(this);
    Done();
  }
};

}  // namespace herd

#endif  // HERD_TESTS_GATEWAY_HANDOFF_STREAM_H_
