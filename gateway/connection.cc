#include "gateway/connection.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>
#include <exception>
#include <string_view>
#include <utility>
#include <variant>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "boost/asio/buffer.hpp"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/detached.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read_until.hpp"
#include "boost/asio/redirect_error.hpp"
#include "boost/asio/ssl/error.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "boost/asio/write.hpp"
#include "common/gateway_limits.h"
#include "common/location_text.h"
#include "fmt/format.h"
#include "gateway/client_stream.h"
#include "gateway/client_tls.h"
#include "gateway/node_client.h"
#include "gateway/protocol.h"
#include "gateway/report_batcher.h"

namespace herd::gateway {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

// After the last reply of a closing connection, how long the client gets to
// close its side while we discard what it still sends. Closing a socket with
// unread input makes the kernel send a reset, which can destroy the error
// reply we just wrote before the client reads it.
constexpr std::chrono::seconds kLingerTime{1};
constexpr size_t kMaxLingerBytes = size_t{1} << 20;

// A TLS client that has not finished its handshake by then is closed: a
// connection that never says anything must not hold a slot for the whole
// idle timeout (README, "Limits").
constexpr std::chrono::seconds kTlsHandshakeTimeout{10};

// Logs a reply going out: its first line, and its size if it has more (the
// log escapes control and non-ASCII bytes itself: see
// herdnode/ops/server_log.cc). Formats straight into the log: nothing
// allocated.
void LogReply(spdlog::logger& log, uint64_t connection_id,
              std::string_view reply) {
  const size_t newline = reply.find('\n');
  if (newline == reply.size() - 1) {
    log.info("[{}] OUT {}", connection_id, reply.substr(0, newline));
  } else {
    log.info("[{}] OUT {} ... ({} bytes)", connection_id,
             reply.substr(0, newline), reply.size());
  }
}

// Waits until event is cancelled (a steady_timer used as a wake-up signal;
// Boost 1.74 has no channels). Callers re-check their condition after.
asio::awaitable<void> WaitForSignal(asio::steady_timer& event) {
  event.expires_at(asio::steady_timer::time_point::max());
  error_code ignored;
  co_await event.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

// What a request does to the node's state, for ordering a connection's
// pipelined requests (see Connection::AcceptLine).
enum class Effect {
  kNone,   // an invalid line: answered without asking the node
  kRead,   // WHATSAT: reads a client's location
  kWrite,  // IAMAT, AT: may change a client's location
};

Effect EffectOf(const Command& command) {
  if (std::holds_alternative<WhatsatCommand>(command)) return Effect::kRead;
  if (std::holds_alternative<IamatCommand>(command) ||
      std::holds_alternative<AtCommand>(command)) {
    return Effect::kWrite;
  }
  return Effect::kNone;
}

class ServedConnection final
    : public Connection,
      public std::enable_shared_from_this<ServedConnection>,
      public ReportWaiter {
 public:
  ServedConnection(const ServerContext& server, const Limits& limits,
                   tcp::socket socket, asio::ssl::context* tls,
                   asio::steady_timer& linger_timer, uint64_t id,
                   std::string peer, ConnectionRights rights)
      : server_(server),
        limits_(limits),
        stream_(std::move(socket), tls),
        linger_timer_(linger_timer),
        id_(id),
        peer_(std::move(peer)),
        rights_(rights),
        watchdog_timer_(stream_.get_executor()),
        reader_wake_(stream_.get_executor()) {}

  void Start() override {
    const bool tls = stream_.tls_stream() != nullptr;
    server_.log->info("[{}] {}connection opened from {}{}", id_,
                      tls ? "TLS " : "", peer_,
                      rights_.trusted ? " (trusted peer)" : "");
    if (server_.observer != nullptr) server_.observer->OnConnectionOpened();
    if (tls) {
      Extend(kTlsHandshakeTimeout, fmt::format("no TLS handshake within {} s",
                                               kTlsHandshakeTimeout.count()));
    } else {
      ExtendIdle();
    }
    const auto executor = stream_.get_executor();
    asio::co_spawn(executor, Serve(shared_from_this()), asio::detached);
    asio::co_spawn(executor, Watchdog(shared_from_this()), asio::detached);
  }

  void CloseNow(std::string_view reason) override {
    if (closed_) return;
    closed_ = true;
    server_.log->info("[{}] connection from {} dropped: {}", id_, peer_,
                      reason);
    error_code ignored;
    stream_.socket().close(ignored);
    watchdog_timer_.cancel();
    reader_wake_.cancel();
    server_.registry->Remove(id_);
    if (server_.observer != nullptr) server_.observer->OnConnectionClosed();
  }

 private:
  // One reply, in arrival order. A trusted AT's slot stays empty (no
  // reply), but still keeps its place in the order.
  struct ReplySlot {
    bool ready = false;
    bool close_after = false;
    std::string text;
    // An IAMAT's line (for a "? " reply) and when it arrived, while the
    // node is asked.
    std::string line;
    absl::Time started;
  };

  // Moves the watchdog's deadline to now + duration.
  void Extend(Clock::duration duration, std::string reason) {
    deadline_ = Clock::now() + duration;
    deadline_reason_ = std::move(reason);
  }

  void ExtendIdle() {
    Extend(limits_.idle_timeout,
           fmt::format("idle for {} s without a complete line",
                       limits_.idle_timeout.count()));
  }

  // The TLS handshake (a TLS connection), then the lines.
  asio::awaitable<void> Serve(std::shared_ptr<ServedConnection> keep_alive) {
    if (ClientStream::TlsStream* tls = stream_.tls_stream()) {
      error_code ec;
      co_await tls->async_handshake(
          asio::ssl::stream_base::server,
          asio::redirect_error(asio::use_awaitable, ec));
      if (closed_) co_return;
      if (ec) {
        CloseNow(fmt::format("TLS handshake failed: {}", ec.message()));
        co_return;
      }
      certified_ids_ = CertifiedClientIds(tls->native_handle());
      server_.log->info(
          "[{}] TLS client certified as {}{}", id_, CertifiedIdsText(),
          rights_.bound_to_certificate ? " (IAMAT only for these ids)" : "");
      ExtendIdle();
      watchdog_timer_.cancel();  // re-arm at the new deadline
    }
    co_await ReadLines(std::move(keep_alive));
  }

  std::string CertifiedIdsText() const {
    return certified_ids_.empty() ? "no usable client id"
                                  : absl::StrJoin(certified_ids_, ", ");
  }

  // An IAMAT this connection may not make (ConnectionRights), as an invalid
  // line (answered "? "), or command unchanged.
  void EnforceCertificateBinding(Command& command) const {
    if (!rights_.bound_to_certificate) return;
    if (const auto* iamat = std::get_if<IamatCommand>(&command)) {
      if (std::find(certified_ids_.begin(), certified_ids_.end(),
                    iamat->client_id) != certified_ids_.end()) {
        return;
      }
      command = InvalidCommand{
          fmt::format("IAMAT for {} refused: the client's certificate names {}",
                      QuoteForMessage(iamat->client_id), CertifiedIdsText())};
    }
  }

  asio::awaitable<void> Watchdog(
      [[maybe_unused]] std::shared_ptr<ServedConnection> keep_alive) {
    // Boost 1.74 has no awaitable operators to race a read against a timer,
    // so a timer cancels the socket instead.
    while (!closed_) {
      watchdog_timer_.expires_at(deadline_);
      error_code ec;
      co_await watchdog_timer_.async_wait(
          asio::redirect_error(asio::use_awaitable, ec));
      if (closed_) co_return;
      if (Clock::now() < deadline_) continue;  // moved on meanwhile
      if (in_flight_ > 0) {
        // The wait is the node's, not the client's: idle time starts again
        // once the last request in flight is done (EndInFlight).
        Extend(limits_.idle_timeout, deadline_reason_);
        continue;
      }
      CloseNow(deadline_reason_);
    }
  }

  asio::awaitable<void> ReadLines(
      [[maybe_unused]] std::shared_ptr<ServedConnection> keep_alive) {
    const size_t max_line = limits_.max_line_bytes;
    std::string input;
    while (!closed_) {
      error_code ec;
      // Room for the longest line plus "\r\n": the buffer never grows past
      // that, whatever the client sends.
      const size_t length = co_await asio::async_read_until(
          stream_, asio::dynamic_buffer(input, max_line + 2), '\n',
          asio::redirect_error(asio::use_awaitable, ec));
      if (closed_) co_return;
      if (ec == asio::error::not_found) {
        RejectLongLine(input.size());
        co_return;
      }
      // A TLS client may close without close_notify (stream_truncated); it
      // has said all it will, as with a plain FIN.
      if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
        // A last line without "\n" (printf ... | nc) still counts.
        if (!input.empty()) {
          if (StripLineTerminator(input).size() > max_line) {
            RejectLongLine(input.size());
            co_return;
          }
          co_await AcceptLine(std::string(StripLineTerminator(input)));
        }
        FinishReading("client closed the connection");
        co_return;
      }
      if (ec) {
        CloseNow(fmt::format("read failed: {}", ec.message()));
        co_return;
      }
      const std::string_view line =
          StripLineTerminator(std::string_view{input}.substr(0, length));
      if (line.size() > max_line) {
        RejectLongLine(line.size());
        co_return;
      }
      std::string owned_line(line);
      input.erase(0, length);
      co_await AcceptLine(std::move(owned_line));
    }
  }

  // Starts the work for one line, or waits while it may not start yet
  // (backpressure: the client's further lines wait in the kernel).
  //
  // Pipelined requests run concurrently, but their effects keep the
  // connection's order, as if each had waited for the one before: a WHATSAT
  // starts only once every earlier IAMAT/AT on this connection is applied,
  // and an IAMAT/AT only once every earlier WHATSAT has been answered. Runs
  // of the same kind still overlap (IAMATs batch, WHATSATs run in parallel).
  asio::awaitable<void> AcceptLine(std::string line) {
    const v1::Instant received_at = WallClockNow();
    Extend(limits_.idle_timeout, deadline_reason_);
    server_.log->info("[{}] IN {}", id_, line);
    const uint64_t seq = first_slot_seq_ + slots_.size();
    slots_.emplace_back();
    Command command = ParseCommand(line);
    EnforceCertificateBinding(command);
    const Effect effect = EffectOf(command);
    while (!closed_ && !MayStart(effect)) {
      reader_waiting_ = true;
      co_await WaitForSignal(reader_wake_);
      reader_waiting_ = false;
    }
    if (closed_) co_return;
    ++in_flight_;
    ++in_flight_by_effect_[static_cast<size_t>(effect)];
    if (const auto* iamat = std::get_if<IamatCommand>(&command)) {
      ReplySlot& slot = slots_[seq - first_slot_seq_];
      slot.started = absl::Now();
      server_.reports->Submit(
          shared_from_this(), seq,
          ReportFields{iamat->client_id, iamat->coordinates_text,
                       iamat->client_time_text, received_at},
          linger_timer_);
      slot.line = std::move(line);
      co_return;
    }
    asio::co_spawn(stream_.get_executor(),
                   HandleLine(shared_from_this(), seq, effect, std::move(line),
                              std::move(command)),
                   asio::detached);
  }

  // Whether a request with this effect may start now (see AcceptLine).
  bool MayStart(Effect effect) const {
    if (in_flight_ >= limits_.max_pipelined_requests) return false;
    switch (effect) {
      case Effect::kRead:
        return InFlight(Effect::kWrite) == 0;
      case Effect::kWrite:
        return InFlight(Effect::kRead) == 0;
      case Effect::kNone:
        return true;
    }
    return true;
  }

  size_t InFlight(Effect effect) const {
    return in_flight_by_effect_[static_cast<size_t>(effect)];
  }

  // An IAMAT's result, on a gRPC thread: the reply is made here, then
  // handed to the connection's event loop.
  void OnReportDone(uint64_t seq, const grpc::Status& status,
                    const v1::ReportLocationResponse* response) override {
    std::string text = status.ok() ? FormatAtReply(response->location())
                                   : DescribeFailure(status);
    asio::post(stream_.get_executor(),
               [self = shared_from_this(), seq, ok = status.ok(),
                text = std::move(text)]() mutable {
                 self->FinishIamat(seq, ok, std::move(text));
               });
  }

  // reply_or_error: the AT reply, or why the node failed.
  void FinishIamat(uint64_t seq, bool ok, std::string reply_or_error) {
    EndInFlight(Effect::kWrite);
    if (closed_) return;
    ReplySlot& slot = slots_[seq - first_slot_seq_];
    if (server_.observer != nullptr) {
      server_.observer->OnRequest("IAMAT", absl::Now() - slot.started);
    }
    if (!ok) {
      server_.log->warn("[{}] node ReportLocation failed: {}", id_,
                        reply_or_error);
      reply_or_error = FormatErrorReply(slot.line);
    }
    slot.line = std::string();
    CompleteSlot(seq, std::move(reply_or_error), /*close_after=*/false);
  }

  void RejectLongLine(size_t received_bytes) {
    const size_t limit = limits_.max_line_bytes;
    server_.log->warn("[{}] IN line too long ({}+ bytes, limit {})", id_,
                      received_bytes, limit);
    const uint64_t seq = first_slot_seq_ + slots_.size();
    slots_.emplace_back();
    FinishReading(fmt::format("line longer than {} bytes", limit));
    CompleteSlot(seq, fmt::format("? line too long (limit {} bytes)\n", limit),
                 /*close_after=*/true);
  }

  // No more lines will come; the connection closes after the last reply.
  void FinishReading(std::string reason) {
    reading_done_ = true;
    end_reason_ = std::move(reason);
    WriteReady();
  }

  // A request's work is done: the reader may take another line.
  void EndInFlight(Effect effect) {
    --in_flight_;
    --in_flight_by_effect_[static_cast<size_t>(effect)];
    if (in_flight_ == 0 && !closing_) {
      Extend(limits_.idle_timeout, deadline_reason_);
    }
    if (reader_waiting_) reader_wake_.cancel();
  }

  asio::awaitable<void> HandleLine(
      [[maybe_unused]] std::shared_ptr<ServedConnection> keep_alive,
      uint64_t seq, Effect effect, std::string line, Command command) {
    std::string reply;
    const absl::Time started = absl::Now();
    try {
      reply = co_await Answer(line, command);
    } catch (const std::exception& error) {
      // Never lose a slot: the writer would wait for it forever.
      server_.log->error("[{}] handling '{}' failed: {}", id_, line,
                         error.what());
      reply = FormatErrorReply(line);
    }
    if (server_.observer != nullptr) {
      server_.observer->OnRequest(RequestCommand(line), absl::Now() - started);
    }
    EndInFlight(effect);
    CompleteSlot(seq, std::move(reply), /*close_after=*/false);
  }

  // The reply to one line that is not an IAMAT ("" for none).
  asio::awaitable<std::string> Answer(const std::string& line,
                                      Command& command) {
    if (auto* whatsat = std::get_if<WhatsatCommand>(&command)) {
      v1::FindNearbyPlacesRequest request;
      request.set_client_id(std::move(whatsat->client_id));
      request.set_radius_km(whatsat->radius_km);
      request.set_max_results(whatsat->max_results);
      auto result = co_await server_.node->FindNearbyPlaces(std::move(request));
      if (!CallSucceeded("FindNearbyPlaces", result.status)) {
        co_return FormatErrorReply(line);
      }
      // The protocol promises at most n places, whatever the node sent.
      auto* places = result.response.mutable_places();
      const int bound = static_cast<int>(whatsat->max_results);
      if (places->size() > bound) {
        places->DeleteSubrange(bound, places->size() - bound);
      }
      co_return FormatWhatsatReply(result.response.location(), *places);
    }
    if (auto* at = std::get_if<AtCommand>(&command)) {
      if (!rights_.trusted) {
        server_.log->warn("[{}] AT from untrusted peer {} refused", id_, peer_);
        co_return FormatErrorReply(line);
      }
      v1::PropagateLocationRequest request;
      *request.mutable_location() = std::move(at->location);
      request.set_from_server("");  // a text peer, not a linked node
      auto result =
          co_await server_.node->PropagateLocation(std::move(request));
      if (CallSucceeded("PropagateLocation", result.status)) {
        server_.log->info("[{}] AT handed to the node: {}", id_,
                          v1::UpdateOutcome_Name(result.response.outcome()));
      }
      // The classic herd's servers never answer an AT line (a reply would
      // echo between text peers), so a trusted AT gets no reply, even when
      // the node could not take it.
      co_return std::string();
    }
    if (auto* invalid = std::get_if<InvalidCommand>(&command)) {
      server_.log->info("[{}] invalid line: {}", id_, invalid->reason);
    }
    co_return FormatErrorReply(line);
  }

  static std::string DescribeFailure(const grpc::Status& status) {
    return fmt::format("code {}: {}", static_cast<int>(status.error_code()),
                       status.error_message());
  }

  bool CallSucceeded(std::string_view method, const grpc::Status& status) {
    if (status.ok()) return true;
    server_.log->warn("[{}] node {} failed: {}", id_, method,
                      DescribeFailure(status));
    return false;
  }

  void CompleteSlot(uint64_t seq, std::string text, bool close_after) {
    if (closed_) return;
    pending_output_bytes_ += text.size();
    ReplySlot& slot = slots_[seq - first_slot_seq_];
    slot.ready = true;
    slot.close_after = close_after;
    slot.text = std::move(text);
    if (pending_output_bytes_ > limits_.max_pending_output_bytes) {
      CloseNow(
          fmt::format("client is not reading: {} reply bytes pending, limit {}",
                      pending_output_bytes_, limits_.max_pending_output_bytes));
      return;
    }
    WriteReady();
  }

  // Writes the ready replies at the front of the queue, in arrival order,
  // unless a write is in flight (its completion comes back here). After the
  // last reply of a closing connection, closes. No coroutine: a reply
  // completing starts its write directly.
  void WriteReady() {
    if (closed_ || writing_ || closing_) return;
    output_.clear();  // keeps its capacity
    while (!slots_.empty() && slots_.front().ready && !close_when_written_) {
      ReplySlot& slot = slots_.front();
      if (!slot.text.empty()) {
        LogReply(*server_.log, id_, slot.text);
        output_ += slot.text;
      }
      close_when_written_ = slot.close_after;
      slots_.pop_front();
      ++first_slot_seq_;
    }
    if (!output_.empty()) {
      writing_ = true;
      asio::async_write(stream_, asio::buffer(output_),
                        [self = shared_from_this()](const error_code& ec,
                                                    size_t /*written*/) {
                          self->OnWritten(ec);
                        });
      return;
    }
    if (close_when_written_ || (reading_done_ && slots_.empty())) {
      closing_ = true;
      asio::co_spawn(stream_.get_executor(),
                     CloseGracefully(shared_from_this()), asio::detached);
    }
  }

  void OnWritten(const error_code& ec) {
    writing_ = false;
    if (closed_) return;
    pending_output_bytes_ -= output_.size();
    if (ec) {
      CloseNow(fmt::format("write failed: {}", ec.message()));
      return;
    }
    WriteReady();
  }

  // Ends TLS (close_notify both ways), sends FIN, discards what the client
  // still sends (bounded in bytes and time), then closes.
  asio::awaitable<void> CloseGracefully(
      [[maybe_unused]] std::shared_ptr<ServedConnection> keep_alive) {
    Extend(kLingerTime, end_reason_);
    watchdog_timer_.cancel();  // re-arm at the nearer deadline
    error_code ec;
    if (ClientStream::TlsStream* tls = stream_.tls_stream()) {
      // Whatever the answer (a client may just drop the connection), TCP
      // closes next.
      co_await tls->async_shutdown(
          asio::redirect_error(asio::use_awaitable, ec));
      if (closed_) co_return;
      ec.clear();
    }
    tcp::socket& socket = stream_.socket();
    socket.shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 4096> scratch{};
    size_t discarded = 0;
    while (!closed_ && !ec && discarded < kMaxLingerBytes) {
      discarded += co_await socket.async_read_some(
          asio::buffer(scratch), asio::redirect_error(asio::use_awaitable, ec));
    }
    CloseNow(end_reason_);
  }

  const ServerContext& server_;
  const Limits limits_;
  ClientStream stream_;
  asio::steady_timer& linger_timer_;  // the event loop's (see AcceptLine)
  const uint64_t id_;
  const std::string peer_;
  const ConnectionRights rights_;
  // What the client's certificate names (TLS), once the handshake is done.
  std::vector<std::string> certified_ids_;

  bool closed_ = false;
  bool reading_done_ = false;
  std::string end_reason_;
  Clock::time_point deadline_;
  std::string deadline_reason_;
  asio::steady_timer watchdog_timer_;
  asio::steady_timer reader_wake_;
  bool reader_waiting_ = false;  // on reader_wake_: a line may not start yet

  std::deque<ReplySlot> slots_;
  uint64_t first_slot_seq_ = 0;  // sequence number of slots_.front()
  size_t in_flight_ = 0;
  std::array<size_t, 3> in_flight_by_effect_{};  // indexed by Effect
  size_t pending_output_bytes_ = 0;
  // The replies being written (reused: no allocation per write).
  std::string output_;
  bool writing_ = false;
  bool close_when_written_ = false;  // a reply asked to close after it
  bool closing_ = false;             // CloseGracefully runs
};

}  // namespace

Limits ResolveLimits(const v1::GatewayLimits& configured) {
  const v1::GatewayLimits limits = GatewayLimitsWithDefaults(configured);
  return {limits.max_line_bytes(),
          limits.max_connections(),
          limits.max_pending_output_bytes(),
          std::chrono::seconds(limits.idle_timeout_seconds()),
          limits.max_pipelined_requests(),
          limits.threads()};
}

std::shared_ptr<Connection> Connection::Make(
    const ServerContext& server, const Limits& limits, tcp::socket socket,
    asio::ssl::context* tls, asio::steady_timer& linger_timer, uint64_t id,
    std::string peer, ConnectionRights rights) {
  return std::make_shared<ServedConnection>(server, limits, std::move(socket),
                                            tls, linger_timer, id,
                                            std::move(peer), rights);
}

}  // namespace herd::gateway
