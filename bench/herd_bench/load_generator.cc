#include "bench/herd_bench/load_generator.h"

#include <algorithm>
#include <memory>

#include "bench/herd_bench/reply_reader.h"
#include "boost/asio/redirect_error.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/this_coro.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "fmt/format.h"

namespace herd::bench {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kReconnectPause = std::chrono::milliseconds(100);

asio::awaitable<void> SleepUntil(Clock::time_point when) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_at(when);
  boost::system::error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

std::string_view StatusKind(const absl::Status& status) {
  return absl::IsDeadlineExceeded(status) ? "timeout" : "connection";
}

// Checks one reply, counts it, and tells the workload what the herd now
// holds. Also checks that one connection always hears from one server.
void Account(const Request& request, const RawReply& reply,
             Clock::duration latency, const LoadOptions& options,
             std::string& server_name, ConnectionWorkload& workload,
             LoadStats& stats) {
  ReplyVerdict verdict = CheckReply(request, reply, options.max_skew);
  if (verdict.ok() && request.kind == Request::Kind::kIamat) {
    const std::string_view server = AtLineServer(reply.first_line);
    if (server_name.empty()) server_name = std::string(server);
    if (server != server_name) {
      verdict = {ReplyError::kMismatch,
                 fmt::format("one connection heard from '{}' then '{}'",
                             server_name, server)};
    }
  }
  if (!verdict.ok()) {
    workload.Failed(request);
    stats.errors.Add(ReplyErrorName(verdict.error), std::move(verdict.detail));
    return;
  }
  stats.all.Record(latency);
  workload.Confirmed(request, reply.first_line);
  if (request.kind == Request::Kind::kIamat) {
    stats.iamat.Record(latency);
    ++stats.iamat_ok;
  } else {
    stats.whatsat.Record(latency);
    ++stats.whatsat_ok;
    stats.whatsat_places += verdict.places;
  }
}

}  // namespace

RunBudget::RunBudget(Clock::time_point start, Clock::time_point deadline,
                     uint64_t max_requests)
    : start_(start), deadline_(deadline), max_requests_(max_requests) {}

bool RunBudget::Expired() const {
  return Clock::now() >= deadline_ ||
         (max_requests_ != 0 &&
          taken_.load(std::memory_order_relaxed) >= max_requests_);
}

uint64_t RunBudget::Take(uint64_t wanted) {
  if (Clock::now() >= deadline_) return 0;
  const uint64_t before = taken_.fetch_add(wanted, std::memory_order_relaxed);
  if (max_requests_ == 0) return wanted;
  if (before >= max_requests_) return 0;
  return std::min(wanted, max_requests_ - before);
}

asio::awaitable<void> RunLoadConnection(const LoadOptions& options,
                                        int connection_index, RunBudget& budget,
                                        LoadStats& stats) {
  const auto executor = co_await asio::this_coro::executor;
  const Endpoint& target =
      options.targets[static_cast<size_t>(connection_index) %
                      options.targets.size()];
  const uint64_t clients_per_connection = std::max<uint64_t>(
      1, options.clients / static_cast<uint64_t>(options.connections));
  ConnectionWorkload workload(
      fmt::format("{}.c{}", options.id_prefix, connection_index),
      clients_per_connection, options.mix,
      options.seed + static_cast<uint64_t>(connection_index), options.shape);
  // Fixed rate: each connection sends on its own schedule, and latency is
  // measured from when a request was due, not when it was sent, so a server
  // that falls behind is charged for the queue it causes.
  const bool fixed_rate = options.rate > 0;
  const auto interval = fixed_rate
                            ? std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(
                                      options.connections / options.rate))
                            : Clock::duration::zero();
  const uint64_t batch_size =
      fixed_rate ? 1 : static_cast<uint64_t>(std::max(options.pipeline, 1));
  // Spread the connections' schedules over one interval.
  Clock::time_point due =
      budget.start() + interval * connection_index / options.connections;
  std::string server_name;
  std::vector<Request> batch;
  std::string wire;

  std::shared_ptr<LineConnection> connection;
  while (!budget.Expired()) {
    if (!connection) {
      connection =
          std::make_shared<LineConnection>(executor, options.io_timeout);
      if (absl::Status connected = co_await connection->Connect(target);
          !connected.ok()) {
        stats.errors.Add("connect",
                         static_cast<std::string>(connected.message()));
        connection->Close();
        connection.reset();
        co_await SleepUntil(Clock::now() + kReconnectPause);
        continue;
      }
    }
    if (fixed_rate) {
      if (due >= budget.deadline()) break;
      if (Clock::now() < due) {
        co_await SleepUntil(due);
      }
    }
    const uint64_t granted = budget.Take(batch_size);
    if (granted == 0) break;
    batch.clear();
    wire.clear();
    for (uint64_t i = 0; i < granted; ++i) {
      batch.push_back(workload.Next());
      wire += batch.back().line;
    }
    const Clock::time_point sent = fixed_rate ? due : Clock::now();
    due += interval;

    absl::Status broken = co_await connection->Write(wire);
    for (const Request& request : batch) {
      if (broken.ok()) {
        auto reply = co_await ReadRawReply(*connection, request.kind);
        if (reply.ok()) {
          Account(request, *reply, Clock::now() - sent, options, server_name,
                  workload, stats);
          continue;
        }
        broken = reply.status();
      }
      workload.Failed(request);
      stats.errors.Add(StatusKind(broken),
                       static_cast<std::string>(broken.message()));
    }
    stats.finished = Clock::now();
    if (!broken.ok()) {
      connection->Close();
      connection.reset();
    }
  }
  if (connection) connection->Close();
}

}  // namespace herd::bench
