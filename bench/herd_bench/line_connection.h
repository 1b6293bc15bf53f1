// One client TCP connection to a text-protocol server: connect, write, and
// read replies line by line, every wait bounded by a time-out.
#ifndef HERD_BENCH_HERD_BENCH_LINE_CONNECTION_H_
#define HERD_BENCH_HERD_BENCH_LINE_CONNECTION_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "boost/asio/any_io_executor.hpp"
#include "boost/asio/awaitable.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "common/host_port.h"

namespace herd::bench {

// A server to dial: "127.0.0.1:12003", "localhost:12003" or "[::1]:12003"
// as common/host_port.h parses (ParseHostPort) and writes
// (FormatHostPort) it.
using Endpoint = HostPort;

class LineConnection : public std::enable_shared_from_this<LineConnection> {
 public:
  // Every Connect/Write/Read fails with DEADLINE_EXCEEDED after io_timeout.
  LineConnection(const boost::asio::any_io_executor& executor,
                 absl::Duration io_timeout);

  boost::asio::awaitable<absl::Status> Connect(const Endpoint& endpoint);
  boost::asio::awaitable<absl::Status> Write(std::string_view data);
  // The next line without its "\n" (or "\r\n"). The view stays valid until
  // the next Read call on this connection.
  boost::asio::awaitable<absl::StatusOr<std::string_view>> ReadLine();
  // The lines up to the next empty line, joined by "\n", without the empty
  // line: the JSON part of a WHATSAT reply. Same lifetime as ReadLine's.
  boost::asio::awaitable<absl::StatusOr<std::string_view>> ReadBlock();
  // Closes the socket and ends the time-out watchdog.
  void Close();

 private:
  using Clock = std::chrono::steady_clock;

  // Ends the wait of an operation that outlived its deadline.
  boost::asio::awaitable<void> Watchdog();
  // Reads more bytes into the buffer.
  boost::asio::awaitable<absl::Status> Fill();
  // Waits for `terminator` after the unread bytes; returns the bytes before
  // it and consumes both.
  boost::asio::awaitable<absl::StatusOr<std::string_view>> ReadUntil(
      std::string_view terminator);
  absl::Status OperationError(const boost::system::error_code& error,
                              std::string_view what) const;
  void StartOperation();
  void EndOperation() { operation_deadline_.reset(); }

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer watchdog_timer_;
  Clock::duration io_timeout_;
  std::optional<Clock::time_point> operation_deadline_;
  bool timed_out_ = false;
  bool closed_ = false;
  bool watchdog_running_ = false;
  std::string peer_;
  // Unread bytes are buffer_[begin_, end_).
  std::vector<char> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace herd::bench

#endif  // HERD_BENCH_HERD_BENCH_LINE_CONNECTION_H_
