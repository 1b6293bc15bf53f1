#include "gateway/node_client.h"

#include <utility>
#include <vector>

namespace herd::gateway {

void InFlightCalls::Add(std::shared_ptr<grpc::ClientContext> context) {
  std::lock_guard lock(mutex_);
  grpc::ClientContext* key = context.get();
  contexts_.emplace(key, std::move(context));
}

void InFlightCalls::Remove(grpc::ClientContext* context) {
  std::lock_guard lock(mutex_);
  contexts_.erase(context);
  if (contexts_.empty()) all_done_.notify_all();
}

void InFlightCalls::CancelAllAndWait() {
  std::vector<std::shared_ptr<grpc::ClientContext>> running;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, context] : contexts_) running.push_back(context);
  }
  for (const auto& context : running) context->TryCancel();
  running.clear();
  std::unique_lock lock(mutex_);
  // Cancelled calls finish promptly; the deadline bounds the wait anyway.
  all_done_.wait_for(lock, kNodeCallDeadline + std::chrono::seconds(1),
                     [this] { return contexts_.empty(); });
}

NodeClient::NodeClient(std::shared_ptr<grpc::Channel> channel,
                       GrpcPollers& pollers)
    : stub_(v1::HerdNode::NewStub(std::move(channel))), pollers_(pollers) {}

boost::asio::awaitable<RpcResult<v1::FindNearbyPlacesResponse>>
NodeClient::FindNearbyPlaces(v1::FindNearbyPlacesRequest request) {
  return Call<v1::FindNearbyPlacesRequest, v1::FindNearbyPlacesResponse>(
      &v1::HerdNode::Stub::PrepareAsyncFindNearbyPlaces, std::move(request));
}

boost::asio::awaitable<RpcResult<v1::PropagateLocationResponse>>
NodeClient::PropagateLocation(v1::PropagateLocationRequest request) {
  return Call<v1::PropagateLocationRequest, v1::PropagateLocationResponse>(
      &v1::HerdNode::Stub::PrepareAsyncPropagateLocation, std::move(request));
}

}  // namespace herd::gateway
