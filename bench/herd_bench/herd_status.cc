#include "bench/herd_bench/herd_status.h"

#include <chrono>
#include <thread>

#include "fmt/format.h"
#include "grpcpp/grpcpp.h"
#include "herd/v1/herd.grpc.pb.h"

namespace herd::bench {
namespace {

constexpr absl::Duration kCallTimeout = absl::Seconds(2);
constexpr auto kSettlePoll = std::chrono::milliseconds(50);

}  // namespace

absl::StatusOr<HerdCounters> ReadHerdCounters(
    const std::vector<std::string>& grpc_targets, absl::Duration timeout) {
  HerdCounters counters;
  for (const std::string& target : grpc_targets) {
    const auto stub = v1::HerdNode::NewStub(
        grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    v1::GetStatusResponse status;
    const grpc::Status result =
        stub->GetStatus(&context, v1::GetStatusRequest(), &status);
    if (!result.ok()) {
      return absl::UnavailableError(
          fmt::format("GetStatus on {}: {}", target, result.error_message()));
    }
    counters.clients += status.clients();
    for (const auto& peer : status.peers()) {
      counters.peer_updates_received +=
          peer.updates_received() + peer.sync_entries_received();
    }
  }
  return counters;
}

absl::StatusOr<HerdCounters> ReadSettledHerdCounters(
    const std::vector<std::string>& grpc_targets,
    absl::Duration settle_within) {
  const absl::Time give_up = absl::Now() + settle_within;
  auto last = ReadHerdCounters(grpc_targets, kCallTimeout);
  while (last.ok() && absl::Now() < give_up) {
    // Not on an event loop: main() reads counters before and after a run.
    std::this_thread::sleep_for(kSettlePoll);
    auto next = ReadHerdCounters(grpc_targets, kCallTimeout);
    if (!next.ok()) return next;
    const bool settled =
        next->peer_updates_received == last->peer_updates_received;
    last = next;
    if (settled) break;
  }
  return last;
}

}  // namespace herd::bench
