#include "bench/herd_bench/line_connection.h"

#include <algorithm>
#include <cstring>

#include "boost/asio/co_spawn.hpp"
#include "boost/asio/connect.hpp"
#include "boost/asio/detached.hpp"
#include "boost/asio/redirect_error.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "boost/asio/write.hpp"
#include "common/host_port.h"
#include "fmt/format.h"

namespace herd::bench {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr size_t kInitialBuffer = size_t{64} * 1024;
// A reply longer than this is a broken server, not a big reply.
constexpr size_t kMaxBuffer = size_t{16} * 1024 * 1024;

}  // namespace

LineConnection::LineConnection(const asio::any_io_executor& executor,
                               absl::Duration io_timeout)
    : socket_(executor),
      watchdog_timer_(executor),
      io_timeout_(absl::ToChronoNanoseconds(io_timeout)),
      buffer_(kInitialBuffer) {}

void LineConnection::StartOperation() {
  operation_deadline_ = Clock::now() + io_timeout_;
}

absl::Status LineConnection::OperationError(
    const boost::system::error_code& error, std::string_view what) const {
  if (timed_out_) {
    return absl::DeadlineExceededError(fmt::format(
        "{} {}: no progress within {} ms", what, peer_,
        std::chrono::duration_cast<std::chrono::milliseconds>(io_timeout_)
            .count()));
  }
  if (error == asio::error::eof) {
    return absl::UnavailableError(
        fmt::format("{} {}: the server closed the connection", what, peer_));
  }
  return absl::UnavailableError(
      fmt::format("{} {}: {}", what, peer_, error.message()));
}

asio::awaitable<void> LineConnection::Watchdog() {
  // A coarse tick keeps timers off the per-request path: deadlines are
  // checked a few times per time-out instead of re-armed for every read.
  const auto tick =
      std::clamp<Clock::duration>(io_timeout_ / 4, std::chrono::milliseconds(1),
                                  std::chrono::milliseconds(100));
  auto self = shared_from_this();
  while (!closed_) {
    watchdog_timer_.expires_after(tick);
    boost::system::error_code ignored;
    co_await watchdog_timer_.async_wait(
        asio::redirect_error(asio::use_awaitable, ignored));
    if (!closed_ && operation_deadline_ &&
        Clock::now() > *operation_deadline_) {
      timed_out_ = true;
      socket_.close(ignored);
    }
  }
  watchdog_running_ = false;
}

asio::awaitable<absl::Status> LineConnection::Connect(
    const Endpoint& endpoint) {
  peer_ = FormatHostPort(endpoint.host, endpoint.port);
  if (!watchdog_running_) {
    watchdog_running_ = true;
    asio::co_spawn(socket_.get_executor(), Watchdog(), asio::detached);
  }
  StartOperation();
  boost::system::error_code error;
  tcp::resolver resolver(socket_.get_executor());
  const auto addresses = co_await resolver.async_resolve(
      endpoint.host, std::to_string(endpoint.port),
      asio::redirect_error(asio::use_awaitable, error));
  if (!error) {
    co_await asio::async_connect(
        socket_, addresses, asio::redirect_error(asio::use_awaitable, error));
  }
  EndOperation();
  if (error) co_return OperationError(error, "connect to");
  socket_.set_option(tcp::no_delay(true), error);
  co_return absl::OkStatus();
}

asio::awaitable<absl::Status> LineConnection::Write(std::string_view data) {
  StartOperation();
  boost::system::error_code error;
  co_await asio::async_write(socket_, asio::buffer(data.data(), data.size()),
                             asio::redirect_error(asio::use_awaitable, error));
  EndOperation();
  if (error) co_return OperationError(error, "write to");
  co_return absl::OkStatus();
}

asio::awaitable<absl::Status> LineConnection::Fill() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (end_ == buffer_.size() && begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buffer_.size()) {
    if (buffer_.size() >= kMaxBuffer) {
      co_return absl::ResourceExhaustedError(fmt::format(
          "read from {}: a reply longer than {} bytes", peer_, kMaxBuffer));
    }
    buffer_.resize(buffer_.size() * 2);
  }
  StartOperation();
  boost::system::error_code error;
  const size_t got = co_await socket_.async_read_some(
      asio::buffer(buffer_.data() + end_, buffer_.size() - end_),
      asio::redirect_error(asio::use_awaitable, error));
  EndOperation();
  if (error) co_return OperationError(error, "read from");
  end_ += got;
  co_return absl::OkStatus();
}

asio::awaitable<absl::StatusOr<std::string_view>> LineConnection::ReadUntil(
    std::string_view terminator) {
  size_t searched = 0;  // bytes after begin_ known not to start a match
  while (true) {
    const std::string_view unread(buffer_.data() + begin_, end_ - begin_);
    const size_t found = unread.find(terminator, searched);
    if (found != std::string_view::npos) {
      begin_ += found + terminator.size();
      co_return unread.substr(0, found);
    }
    if (unread.size() >= terminator.size()) {
      searched = unread.size() - terminator.size() + 1;
    }
    // Fill may move the unread bytes to the front; `searched` is relative.
    if (absl::Status filled = co_await Fill(); !filled.ok()) co_return filled;
  }
}

asio::awaitable<absl::StatusOr<std::string_view>> LineConnection::ReadLine() {
  auto line = co_await ReadUntil("\n");
  if (line.ok() && line->ends_with('\r')) line->remove_suffix(1);
  co_return line;
}

asio::awaitable<absl::StatusOr<std::string_view>> LineConnection::ReadBlock() {
  // An empty block is the blank line itself.
  const std::string_view unread(buffer_.data() + begin_, end_ - begin_);
  if (unread.starts_with('\n')) {
    ++begin_;
    co_return std::string_view();
  }
  co_return co_await ReadUntil("\n\n");
}

void LineConnection::Close() {
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  watchdog_timer_.cancel();
}

}  // namespace herd::bench
