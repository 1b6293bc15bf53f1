#include "tests/gateway/test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace herd::gateway::testing {
namespace {

using Clock = std::chrono::steady_clock;

int MillisecondsLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

bool FillAddress(const std::string& ip, uint16_t port, sockaddr_in& address) {
  address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  return inet_pton(AF_INET, ip.c_str(), &address.sin_addr) == 1;
}

}  // namespace

std::unique_ptr<TestClient> TestClient::Connect(uint16_t port,
                                                const std::string& bind_ip,
                                                int receive_buffer_bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return nullptr;
  auto client = std::make_unique<TestClient>(fd);
  if (receive_buffer_bytes > 0 &&
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes,
                 sizeof(receive_buffer_bytes)) != 0) {
    return nullptr;
  }
  sockaddr_in address{};
  if (!bind_ip.empty()) {
    if (!FillAddress(bind_ip, 0, address) ||
        bind(fd, reinterpret_cast<const sockaddr*>(&address),
             sizeof(address)) != 0) {
      return nullptr;
    }
  }
  if (!FillAddress("127.0.0.1", port, address) ||
      connect(fd, reinterpret_cast<const sockaddr*>(&address),
              sizeof(address)) != 0) {
    return nullptr;
  }
  // Sends give up after this long instead of blocking a test forever.
  timeval send_timeout{};
  send_timeout.tv_sec = 10;
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
  return client;
}

TestClient::~TestClient() { close(fd_); }

bool TestClient::Send(std::string_view data) {
  while (!data.empty()) {
    const ssize_t sent = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    data.remove_prefix(static_cast<size_t>(sent));
  }
  return true;
}

bool TestClient::ShutdownSend() { return shutdown(fd_, SHUT_WR) == 0; }

int64_t TestClient::ReceiveSome(Clock::time_point deadline) {
  pollfd poll_fd{fd_, POLLIN, 0};
  const int ready = poll(&poll_fd, 1, MillisecondsLeft(deadline));
  if (ready <= 0) return -1;
  std::array<char, 65536> chunk{};
  const ssize_t received = recv(fd_, chunk.data(), chunk.size(), 0);
  if (received <= 0) return 0;  // EOF or reset: closed either way
  buffer_.append(chunk.data(), static_cast<size_t>(received));
  return received;
}

std::optional<std::string> TestClient::ReadUntil(std::string_view delimiter,
                                                 Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const size_t found = buffer_.find(delimiter);
    if (found != std::string::npos) {
      std::string result = buffer_.substr(0, found + delimiter.size());
      buffer_.erase(0, found + delimiter.size());
      return result;
    }
    if (ReceiveSome(deadline) <= 0) return std::nullopt;
  }
}

bool TestClient::WaitForClose(Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const int64_t received = ReceiveSome(deadline);
    if (received == 0) return true;
    if (received < 0) return false;
  }
}

}  // namespace herd::gateway::testing
