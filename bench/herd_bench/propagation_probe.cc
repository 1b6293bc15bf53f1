#include "bench/herd_bench/propagation_probe.h"

#include <limits>
#include <memory>
#include <optional>

#include "bench/herd_bench/reply_reader.h"
#include "bench/herd_bench/visibility_probe.h"
#include "bench/herd_bench/workload.h"
#include "boost/asio/redirect_error.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/this_coro.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "fmt/format.h"

namespace herd::bench {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Even a herd that never propagates cannot keep the prober spinning.
constexpr uint64_t kMaxPollsPerSample = 1'000'000;

struct Sighting {
  std::string at_line;
  Clock::time_point at;
};

// Looks at B until it holds the client (the update is visible), the time-out
// passes (nullopt) or B fails.
// Looks are paced by poll_interval: polling back to back would load B (and
// the shared CPUs) with WHATSATs and slow down the very flooding measured.
asio::awaitable<absl::StatusOr<std::optional<Sighting>>> PollUntilVisible(
    VisibilityProbe& to, const std::string& client_id,
    Clock::time_point give_up, Clock::duration poll_interval,
    PropagationStats& stats) {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  for (uint64_t polls = 0; polls < kMaxPollsPerSample && Clock::now() < give_up;
       ++polls) {
    const Clock::time_point look_started = Clock::now();
    auto seen = co_await to.Look(client_id);
    if (!seen.ok()) co_return seen.status();
    ++stats.polls;
    if (seen->has_value()) co_return Sighting{**std::move(seen), Clock::now()};
    pause.expires_at(look_started + poll_interval);
    boost::system::error_code ignored;
    co_await pause.async_wait(
        asio::redirect_error(asio::use_awaitable, ignored));
  }
  co_return std::nullopt;
}

std::unique_ptr<VisibilityProbe> MakeProbe(
    const asio::any_io_executor& executor, const PropagationOptions& options) {
  if (!options.grpc_to.empty()) {
    return MakeGetLocationProbe(options.grpc_to, options.io_timeout);
  }
  return MakeWhatsatProbe(executor, options.to, options.io_timeout);
}

}  // namespace

asio::awaitable<void> RunPropagationProbe(const PropagationOptions& options,
                                          const RunBudget& budget,
                                          PropagationStats& stats) {
  const auto executor = co_await asio::this_coro::executor;
  auto from = std::make_shared<LineConnection>(executor, options.io_timeout);
  std::unique_ptr<VisibilityProbe> to = MakeProbe(executor, options);
  stats.method = to->method();
  absl::Status connected = co_await from->Connect(options.from);
  if (connected.ok()) {
    connected = co_await to->Connect();
  }
  if (!connected.ok()) {
    stats.errors.Add("connect", static_cast<std::string>(connected.message()));
    from->Close();
    to->Close();
    co_return;
  }
  // Every sample reports a client no server has heard of.
  ConnectionWorkload workload(options.id_prefix + ".probe",
                              std::numeric_limits<uint64_t>::max(), Mix{1, 0},
                              options.seed);
  const auto interval = absl::ToChronoNanoseconds(options.interval);
  Clock::time_point next = Clock::now();
  asio::steady_timer timer(executor);
  while ((options.max_samples == 0 || stats.samples < options.max_samples) &&
         next < budget.deadline()) {
    timer.expires_at(next);
    boost::system::error_code ignored;
    co_await timer.async_wait(
        asio::redirect_error(asio::use_awaitable, ignored));
    next += interval;

    const Request iamat = workload.Next();
    const Clock::time_point sent = Clock::now();
    absl::Status failure = co_await from->Write(iamat.line);
    absl::StatusOr<std::optional<Sighting>> sighting =
        std::optional<Sighting>();
    if (failure.ok()) {
      sighting = co_await PollUntilVisible(
          *to, iamat.client_id,
          sent + absl::ToChronoNanoseconds(options.visibility_timeout),
          absl::ToChronoNanoseconds(options.poll_interval), stats);
      failure = sighting.status();
    }
    // A's reply waited in its socket while B was polled.
    // (No co_await inside ?: here: GCC 12 miscompiles that in coroutines.)
    absl::StatusOr<RawReply> accepted = absl::UnknownError("not read");
    if (failure.ok()) {
      accepted = co_await ReadRawReply(*from, Request::Kind::kIamat);
    } else {
      accepted = failure;
    }
    if (!accepted.ok()) {
      stats.errors.Add(absl::IsDeadlineExceeded(accepted.status())
                           ? "timeout"
                           : "connection",
                       static_cast<std::string>(accepted.status().message()));
      break;  // the probe's connections are not trustworthy any more
    }
    ++stats.samples;
    ReplyVerdict verdict = CheckReply(iamat, *accepted, options.max_skew);
    if (!verdict.ok()) {
      stats.errors.Add(ReplyErrorName(verdict.error),
                       std::move(verdict.detail));
      continue;
    }
    ++stats.iamat_ok;
    if (!sighting->has_value()) {
      ++stats.never_visible;
      continue;
    }
    // Flooding must hand B the very line A answered with.
    if ((*sighting)->at_line != accepted->first_line) {
      stats.errors.Add(
          ReplyErrorName(ReplyError::kMismatch),
          fmt::format("B holds '{}' for the client, but A answered '{}'",
                      (*sighting)->at_line, accepted->first_line));
      continue;
    }
    stats.visible_after.Record((*sighting)->at - sent);
  }
  from->Close();
  to->Close();
}

}  // namespace herd::bench
