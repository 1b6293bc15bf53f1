// A small blocking TCP client for gateway tests: every read has a deadline,
// so a missing reply fails the test instead of hanging it.
#ifndef HERD_TESTS_GATEWAY_TEST_CLIENT_H_
#define HERD_TESTS_GATEWAY_TEST_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace herd::gateway::testing {

class TestClient {
 public:
  using Duration = std::chrono::milliseconds;
  static constexpr Duration kDefaultTimeout{10000};

  // Connects to 127.0.0.1:port. bind_ip: the local address to send from
  // (e.g. "127.0.0.2"); receive_buffer_bytes: a small SO_RCVBUF makes a
  // client that does not read fill up quickly. Returns nullptr on failure.
  static std::unique_ptr<TestClient> Connect(uint16_t port,
                                             const std::string& bind_ip = "",
                                             int receive_buffer_bytes = 0);

  // Takes ownership of a connected socket.
  explicit TestClient(int fd) : fd_(fd) {}
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  // Sends all of data; false if the connection fails or the send deadline
  // passes.
  bool Send(std::string_view data);

  // Closes the sending side (the server sees EOF); reading still works.
  bool ShutdownSend();

  // Everything up to and including the next delimiter, or nullopt on EOF,
  // error or timeout.
  std::optional<std::string> ReadUntil(std::string_view delimiter,
                                       Duration timeout = kDefaultTimeout);
  std::optional<std::string> ReadLine(Duration timeout = kDefaultTimeout) {
    return ReadUntil("\n", timeout);
  }

  // Reads (and discards) until the server closes the connection; true if it
  // did before the timeout.
  bool WaitForClose(Duration timeout = kDefaultTimeout);

  // Bytes received but not yet returned by ReadUntil.
  const std::string& buffered() const { return buffer_; }

 private:
  // One recv with a deadline: >0 bytes, 0 on EOF/reset, -1 on timeout.
  int64_t ReceiveSome(std::chrono::steady_clock::time_point deadline);

  int fd_;
  std::string buffer_;
};

}  // namespace herd::gateway::testing

#endif  // HERD_TESTS_GATEWAY_TEST_CLIENT_H_
