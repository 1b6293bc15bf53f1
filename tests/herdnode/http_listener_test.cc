// The HTTP listener's limits over real loopback sockets: the connection cap
// (idle connections make room, busy ones do not), the request head's
// deadline and size. Deadlines are shortened through HttpLimits; every wait
// is bounded.
#include "herdnode/ops/http_listener.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/write.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ringbuffer_sink.h"
#include "spdlog/spdlog.h"

namespace herd {
namespace {

namespace asio = boost::asio;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The longest any single wait of these tests may take.
constexpr milliseconds kWaitBound(5000);

// A client on its own io_context, so that every read has a time bound.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }

  void Send(const std::string& bytes) {
    asio::write(socket_, asio::buffer(bytes));
  }

  // Reads until done(received) holds or the server closes, at most
  // kWaitBound. Sets closed_ if the server closed (or reset).
  std::string ReadUntil(const std::function<bool(const std::string&)>& done) {
    std::string received;
    const Clock::time_point deadline = Clock::now() + kWaitBound;
    while (!closed_ && !done(received) && Clock::now() < deadline) {
      char chunk[4096];
      bool finished = false;
      boost::system::error_code ec;
      size_t n = 0;
      socket_.async_read_some(asio::buffer(chunk),
                              [&](boost::system::error_code e, size_t got) {
                                finished = true;
                                ec = e;
                                n = got;
                              });
      io_.restart();
      io_.run_for(deadline - Clock::now());
      if (!finished) {
        socket_.cancel();
        io_.restart();
        io_.run();  // the cancelled read's handler
      }
      received.append(chunk, n);
      if (ec && ec != asio::error::operation_aborted) closed_ = true;
    }
    return received;
  }

  // One whole response (its head and Content-Length bytes of body).
  std::string ReadResponse() {
    return ReadUntil([](const std::string& bytes) {
      const size_t head_end = bytes.find("\r\n\r\n");
      if (head_end == std::string::npos) return false;
      const std::string field = "Content-Length: ";
      const size_t at = bytes.find(field);
      if (at == std::string::npos || at > head_end) return true;
      size_t length = 0;
      const size_t value = at + field.size();
      if (!absl::SimpleAtoi(
              bytes.substr(value, bytes.find("\r\n", value) - value),
              &length)) {
        return true;
      }
      return bytes.size() >= head_end + 4 + length;
    });
  }

  // Waits (at most kWaitBound) for the server to close; returns what it sent
  // before closing.
  std::string ReadToClose() {
    return ReadUntil([](const std::string&) { return false; });
  }

  bool closed() const { return closed_; }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  bool closed_ = false;
};

constexpr char kKeepAliveGet[] = "GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n";
constexpr char kClosingGet[] =
    "GET /metrics HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";

class HttpListenerTest : public ::testing::Test {
 protected:
  void Start(HttpLimits limits) {
    sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
    auto log = std::make_shared<spdlog::logger>("http_test", sink_);
    HttpRoutes routes;
    routes["/metrics"] = [] { return HttpReply{"text/plain", "herd_up 1\n"}; };
    auto listener = HttpListener::Start("127.0.0.1:0", std::move(routes),
                                        std::move(log), limits);
    ASSERT_TRUE(listener.ok()) << listener.status();
    listener_ = *std::move(listener);
  }

  uint16_t port() const { return listener_->BoundPort(); }

  // Polls (at most kWaitBound) until the listener's counts satisfy ok.
  bool WaitForCounts(const std::function<bool(HttpConnectionCounts)>& ok) {
    const Clock::time_point deadline = Clock::now() + kWaitBound;
    while (!ok(listener_->Connections())) {
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(milliseconds(1));
    }
    return true;
  }

  // Polls (at most kWaitBound) until the log has text. A deadline closes the
  // socket before the coroutine that logs it runs again.
  bool WaitForLog(const std::string& text) const {
    const Clock::time_point deadline = Clock::now() + kWaitBound;
    while (Log().find(text) == std::string::npos) {
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(milliseconds(1));
    }
    return true;
  }

  std::string Log() const {
    std::string all;
    for (const std::string& line : sink_->last_formatted()) all += line;
    return all;
  }

  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::unique_ptr<HttpListener> listener_;
};

TEST_F(HttpListenerTest, AtTheCapTheLongestIdleConnectionMakesRoom) {
  HttpLimits limits;
  limits.max_connections = 4;
  Start(limits);
  // The oldest sends nothing; the others are kept alive after a request.
  std::vector<std::unique_ptr<Client>> clients;
  clients.push_back(std::make_unique<Client>(port()));
  ASSERT_TRUE(
      WaitForCounts([](HttpConnectionCounts c) { return c.open == 1; }));
  for (int i = 1; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>(port()));
    clients.back()->Send(kKeepAliveGet);
    ASSERT_THAT(clients.back()->ReadResponse(), StartsWith("HTTP/1.1 200"));
  }

  // A scraper gets in, and is kept alive itself.
  Client scraper(port());
  scraper.Send(kKeepAliveGet);
  EXPECT_THAT(scraper.ReadResponse(), StartsWith("HTTP/1.1 200"));
  EXPECT_EQ(clients[0]->ReadToClose(), "");
  EXPECT_TRUE(clients[0]->closed());

  // The cap is reached again; the longest idle now is the first kept-alive
  // one (idle since its response).
  Client second(port());
  second.Send(kClosingGet);
  EXPECT_THAT(second.ReadToClose(), StartsWith("HTTP/1.1 200"));
  EXPECT_EQ(clients[1]->ReadToClose(), "");
  EXPECT_TRUE(clients[1]->closed());

  // The others were left alone.
  for (int i = 2; i < 4; ++i) {
    clients[i]->Send(kKeepAliveGet);
    EXPECT_THAT(clients[i]->ReadResponse(), StartsWith("HTTP/1.1 200")) << i;
  }
  scraper.Send(kKeepAliveGet);
  EXPECT_THAT(scraper.ReadResponse(), StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(Log(), HasSubstr("closed, idle the longest, to admit a new"));
}

TEST_F(HttpListenerTest, HalfAHeadIsClosedAfterTheHeadDeadline) {
  HttpLimits limits;
  limits.head_timeout = milliseconds(300);
  limits.idle_timeout = std::chrono::seconds(60);
  Start(limits);
  const Clock::time_point connected = Clock::now();
  Client stalled(port());
  stalled.Send("GET /metrics HTTP/1.1\r\nHo");

  // Served meanwhile, on a new connection and on a kept-alive one.
  Client bystander(port());
  bystander.Send(kKeepAliveGet);
  EXPECT_THAT(bystander.ReadResponse(), StartsWith("HTTP/1.1 200"));
  bystander.Send(kKeepAliveGet);
  EXPECT_THAT(bystander.ReadResponse(), StartsWith("HTTP/1.1 200"));
  const Clock::time_point answered = Clock::now();

  EXPECT_EQ(stalled.ReadToClose(), "");
  EXPECT_TRUE(stalled.closed());
  EXPECT_GE(std::chrono::duration_cast<milliseconds>(Clock::now() - connected)
                .count(),
            limits.head_timeout.count());
  EXPECT_TRUE(WaitForLog("no complete request head within 300 ms")) << Log();

  // A kept-alive connection gets idle_timeout, not head_timeout, to start its
  // next request: still open well after the head deadline.
  std::this_thread::sleep_until(answered + 2 * limits.head_timeout);
  bystander.Send(kKeepAliveGet);
  EXPECT_THAT(bystander.ReadResponse(), StartsWith("HTTP/1.1 200"));
  EXPECT_FALSE(bystander.closed());
}

TEST_F(HttpListenerTest, OversizedHeadGets431AndClose) {
  Start(HttpLimits{});
  Client client(port());
  client.Send("GET /metrics HTTP/1.1\r\nHost: h\r\nX-Big: " +
              std::string(16 * 1024, 'a') + "\r\n\r\n");
  const std::string response = client.ReadToClose();
  EXPECT_THAT(response,
              StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  EXPECT_THAT(response, HasSubstr("Connection: close\r\n"));
  EXPECT_TRUE(client.closed());

  // A head just under the limit is served.
  Client fits(port());
  fits.Send("GET /metrics HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-Big: " +
            std::string(7 * 1024, 'a') + "\r\n\r\n");
  EXPECT_THAT(fits.ReadToClose(), StartsWith("HTTP/1.1 200"));
}

TEST_F(HttpListenerTest, AtTheCapWithEveryConnectionMidRequestTheNewIsRefused) {
  HttpLimits limits;
  limits.max_connections = 3;
  limits.head_timeout = std::chrono::seconds(60);
  Start(limits);
  std::vector<std::unique_ptr<Client>> busy;
  for (int i = 0; i < 3; ++i) {
    busy.push_back(std::make_unique<Client>(port()));
    busy.back()->Send("GET /metrics HTTP/1.1\r\nHost: h\r\n");
  }
  ASSERT_TRUE(WaitForCounts(
      [](HttpConnectionCounts c) { return c.open == 3 && c.idle == 0; }));

  Client refused(port());
  EXPECT_EQ(refused.ReadToClose(), "");
  EXPECT_TRUE(refused.closed());
  EXPECT_THAT(Log(), HasSubstr("refused: the limit of 3 connections is "
                               "reached and all are mid-request"));

  // Nothing else changed: each busy request completes.
  EXPECT_EQ(listener_->Connections().open, 3);
  for (auto& client : busy) {
    client->Send("Connection: close\r\n\r\n");
    EXPECT_THAT(client->ReadToClose(), StartsWith("HTTP/1.1 200"));
  }
}

}  // namespace
}  // namespace herd
