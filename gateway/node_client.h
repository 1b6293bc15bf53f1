// Awaitable wrappers over the node's gRPC stub, so a gateway coroutine can
// `co_await client.FindNearbyPlaces(request)` without blocking the event
// loop: the call goes on a queue of the node's pollers (grpc_pollers.h) and
// its completion is posted back to the awaiting coroutine's executor (its
// connection strand).
// (IAMATs go batched on one stream instead: see report_batcher.h.)
#ifndef HERD_GATEWAY_NODE_CLIENT_H_
#define HERD_GATEWAY_NODE_CLIENT_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "boost/asio/associated_executor.hpp"
#include "boost/asio/async_result.hpp"
#include "boost/asio/awaitable.hpp"
#include "boost/asio/execution/outstanding_work.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/prefer.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "common/grpc_handoff.h"
#include "common/grpc_pollers.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/async_unary_call.h"
#include "grpcpp/support/status.h"
#include "herd/v1/herd.grpc.pb.h"

namespace herd::gateway {

// Every call to the node gets this deadline. The node answers from memory
// (or from its places provider, whose own time-out is 5 s by default), so a
// call still running after this is stuck; the client gets "? " instead of a
// connection that hangs.
inline constexpr std::chrono::seconds kNodeCallDeadline{5};

// The outcome of one call: the gRPC status and, if it is OK, the response.
template <typename Response>
struct RpcResult {
  grpc::Status status;
  Response response;
};

// The contexts of calls still running, so Shutdown() can cancel them and
// wait until no gRPC callback can touch the event loop any more.
class InFlightCalls {
 public:
  // context is shared so that cancelling can keep it alive without holding
  // the lock (gRPC may run the cancelled call's callback inline).
  void Add(std::shared_ptr<grpc::ClientContext> context);
  void Remove(grpc::ClientContext* context);
  // Cancels every running call and waits (bounded by the call deadline)
  // until their callbacks have finished.
  void CancelAllAndWait();

 private:
  std::mutex mutex_;
  std::condition_variable all_done_;
  std::unordered_map<grpc::ClientContext*, std::shared_ptr<grpc::ClientContext>>
      contexts_;
};

class NodeClient {
 public:
  // The calls go on the pollers' queues, which must run until Shutdown().
  NodeClient(std::shared_ptr<grpc::Channel> channel, GrpcPollers& pollers);

  boost::asio::awaitable<RpcResult<v1::FindNearbyPlacesResponse>>
  FindNearbyPlaces(v1::FindNearbyPlacesRequest request);
  boost::asio::awaitable<RpcResult<v1::PropagateLocationResponse>>
  PropagateLocation(v1::PropagateLocationRequest request);

  // Cancels the calls still running and waits for their callbacks. Call it
  // after the event loop has stopped and before it is destroyed.
  void Shutdown() { in_flight_.CancelAllAndWait(); }

 private:
  // One method of the stub, e.g. &Stub::PrepareAsyncFindNearbyPlaces.
  template <typename Request, typename Response>
  using AsyncMethod =
      std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> (
          v1::HerdNode::Stub::*)(grpc::ClientContext*, const Request&,
                                 grpc::CompletionQueue*);

  // Starts (stub->*method)(context, request, queue).
  template <typename Request, typename Response>
  boost::asio::awaitable<RpcResult<Response>> Call(
      AsyncMethod<Request, Response> method, Request request);

  std::unique_ptr<v1::HerdNode::Stub> stub_;
  GrpcPollers& pollers_;
  InFlightCalls in_flight_;
};

template <typename Request, typename Response>
boost::asio::awaitable<RpcResult<Response>> NodeClient::Call(
    AsyncMethod<Request, Response> method, Request request) {
  namespace asio = boost::asio;
  auto initiation = [this, method,
                     request = std::move(request)](auto handler) mutable {
    using Handler = decltype(handler);
    // Everything the gRPC call refers to lives here, and keeps itself alive
    // (self) until its tag completes; GrpcHandoff orders all of it before
    // Complete.
    struct State final : CompletionTag {
      grpc::ClientContext context;
      Request request;
      Response response;
      grpc::Status status;
      std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> call;
      std::optional<Handler> handler;
      // Keeps the event loop from running out of work while the call is
      // out; released (moved out) in Complete.
      std::optional<asio::any_io_executor> work;
      InFlightCalls* in_flight = nullptr;
      std::shared_ptr<State> self;
      GrpcHandoff handoff;
      // StartCall and Finish write into call after HandToGrpc's release.
      StartOrder start_order;

      void Complete(bool /*ok*/) override {
        start_order.Reacting();
        handoff.Acquire();
        // Never resume the coroutine on a poller thread: post to its
        // executor. Everything that refers to the event loop leaves the
        // state and is destroyed before Remove(), because once no call is
        // in flight Shutdown() returns and the event loop may be destroyed.
        {
          asio::any_io_executor loop = std::move(*work);
          work.reset();
          asio::post(loop, [loop, done = std::move(*handler),
                            result = RpcResult<Response>{
                                status, std::move(response)}]() mutable {
            std::move(done)(std::move(result));
          });
          handler.reset();
        }
        InFlightCalls* calls = in_flight;
        // The last references go when this returns (gRPC is done with it).
        call.reset();
        const std::shared_ptr<State> last = std::move(self);
        calls->Remove(&context);
      }
    };
    auto state = std::make_shared<State>();
    state->request = std::move(request);
    state->context.set_deadline(std::chrono::system_clock::now() +
                                kNodeCallDeadline);
    state->work.emplace(
        asio::prefer(asio::get_associated_executor(handler),
                     asio::execution::outstanding_work.tracked));
    state->handler.emplace(std::move(handler));
    state->in_flight = &in_flight_;
    state->self = state;
    // Aliasing pointer: shares ownership of the whole state.
    in_flight_.Add(
        std::shared_ptr<grpc::ClientContext>(state, &state->context));
    state->call = ((*stub_).*method)(&state->context, state->request,
                                     pollers_.NextQueue());
    state->handoff.Release();
    StartOrder::Starting starting(state->start_order);
    state->call->StartCall();
    state->call->Finish(&state->response, &state->status,
                        HandToGrpc(state.get()));
  };
  return asio::async_initiate<decltype(asio::use_awaitable),
                              void(RpcResult<Response>)>(std::move(initiation),
                                                         asio::use_awaitable);
}

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_NODE_CLIENT_H_
