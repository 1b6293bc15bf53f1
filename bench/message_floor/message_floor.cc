// message-floor: what one bare message costs this machine, the floor under
// every herd's cost per update.
//
// Two processes on one loopback TCP connection (TCP_NODELAY) play ping-pong
// with 200-byte messages: the parent sends one and waits in epoll_wait for
// the echo; the child waits in epoll_wait, reads it and sends it back. So
// every message wakes a sleeping process, as a message between two herd
// servers does at a moderate load, but nothing else happens: no TLS, no
// HTTP/2, no protocol, no work. The child's CPU time per round trip is what
// one message hop costs, both ends together (one receive: the wake-up,
// epoll_wait, recv; one send), since the child does exactly one of each per
// round trip.
//
// With --gap_us, the parent sleeps that long between round trips (250 us:
// 4,000 messages a second, the bench's fixed rate), so that the child's
// cores have gone idle before each message, as they have at that rate.
//
//   message-floor [--round_trips=N] [--gap_us=G] [--json=PATH]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "fmt/format.h"

ABSL_FLAG(int32_t, round_trips, 5000, "messages each way (1 to 10,000,000)");
ABSL_FLAG(int32_t, gap_us, 0,
          "microseconds the sender sleeps between round trips (0 to "
          "1,000,000; 0: back to back)");
ABSL_FLAG(std::string, json, "", "also write the result as JSON here");

namespace {

constexpr size_t kMessageBytes = 200;  // about one update in a link message

// An owned file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "message-floor: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

void Check(bool ok, const char* what) {
  if (!ok) Die(what);
}

// CPU time (user + system) of `who` (RUSAGE_SELF, RUSAGE_CHILDREN), in us.
double CpuMicros(int who) {
  rusage usage{};
  Check(getrusage(who, &usage) == 0, "getrusage");
  auto micros = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
  };
  return micros(usage.ru_utime) + micros(usage.ru_stime);
}

void NoDelay(const Fd& socket) {
  const int one = 1;
  Check(
      setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0,
      "setsockopt TCP_NODELAY");
}

// An epoll set watching one socket for input.
class Waiter {
 public:
  explicit Waiter(const Fd& socket) : epoll_(epoll_create1(EPOLL_CLOEXEC)) {
    Check(epoll_.get() >= 0, "epoll_create1");
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = socket.get();
    Check(epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, socket.get(), &event) == 0,
          "epoll_ctl");
  }
  void Wait() const {
    epoll_event event{};
    while (epoll_wait(epoll_.get(), &event, 1, -1) < 1) {
      Check(errno == EINTR, "epoll_wait");
    }
  }

 private:
  Fd epoll_;
};

// Reads exactly one message (loopback may split it); false at end of stream.
bool ReadMessage(const Fd& socket, const Waiter& waiter,
                 std::array<char, kMessageBytes>& buffer) {
  size_t have = 0;
  while (have < buffer.size()) {
    waiter.Wait();
    const ssize_t got =
        recv(socket.get(), buffer.data() + have, buffer.size() - have, 0);
    if (got == 0) return false;
    if (got < 0) {
      Check(errno == EINTR || errno == EAGAIN, "recv");
      continue;
    }
    have += static_cast<size_t>(got);
  }
  return true;
}

void WriteMessage(const Fd& socket, const std::array<char, kMessageBytes>& m) {
  size_t sent = 0;
  while (sent < m.size()) {
    const ssize_t put =
        send(socket.get(), m.data() + sent, m.size() - sent, MSG_NOSIGNAL);
    if (put < 0) {
      Check(errno == EINTR, "send");
      continue;
    }
    sent += static_cast<size_t>(put);
  }
}

// The child: echoes every message until the parent closes.
[[noreturn]] void Echo(const sockaddr_in& address) {
  const Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  Check(socket.get() >= 0, "socket");
  Check(connect(socket.get(), reinterpret_cast<const sockaddr*>(&address),
                sizeof address) == 0,
        "connect");
  NoDelay(socket);
  const Waiter waiter(socket);
  std::array<char, kMessageBytes> buffer{};
  while (ReadMessage(socket, waiter, buffer)) WriteMessage(socket, buffer);
  std::_Exit(0);
}

struct Result {
  double wall_us_per_round_trip;
  double sender_cpu_us_per_round_trip;
  double hop_cpu_us;  // the echoing child's CPU per round trip
};

Result Measure(int round_trips, int gap_us) {
  const Fd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  Check(listener.get() >= 0, "socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  Check(bind(listener.get(), reinterpret_cast<sockaddr*>(&address),
             sizeof address) == 0 &&
            getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address),
                        &length) == 0 &&
            listen(listener.get(), 1) == 0,
        "listen on 127.0.0.1");
  std::fflush(nullptr);
  const pid_t child = fork();
  Check(child >= 0, "fork");
  if (child == 0) Echo(address);

  const Fd socket(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  Check(socket.get() >= 0, "accept");
  NoDelay(socket);
  const Waiter waiter(socket);
  std::array<char, kMessageBytes> buffer{};
  const double cpu_before = CpuMicros(RUSAGE_SELF);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < round_trips; ++i) {
    WriteMessage(socket, buffer);
    if (!ReadMessage(socket, waiter, buffer)) {
      std::fprintf(stderr, "message-floor: the echo ended early\n");
      std::exit(1);
    }
    if (gap_us > 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(gap_us));
    }
  }
  const std::chrono::duration<double, std::micro> wall =
      std::chrono::steady_clock::now() - start;
  const double sender_cpu = CpuMicros(RUSAGE_SELF) - cpu_before;
  Check(shutdown(socket.get(), SHUT_WR) == 0, "shutdown");
  int status = 0;
  Check(waitpid(child, &status, 0) == child, "waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "message-floor: the echo process failed\n");
    std::exit(1);
  }
  // The child's connect and exit are in it too: noise next to thousands of
  // round trips.
  const double hop_cpu = CpuMicros(RUSAGE_CHILDREN);
  return {wall.count() / round_trips, sender_cpu / round_trips,
          hop_cpu / round_trips};
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "CPU time of one bare loopback message hop (see the file's comment)");
  absl::ParseCommandLine(argc, argv);
  const int round_trips = absl::GetFlag(FLAGS_round_trips);
  const int gap_us = absl::GetFlag(FLAGS_gap_us);
  if (round_trips < 1 || round_trips > 10'000'000 || gap_us < 0 ||
      gap_us > 1'000'000) {
    std::fprintf(stderr,
                 "message-floor: --round_trips must be in [1, 10000000] and "
                 "--gap_us in [0, 1000000]\n");
    return 2;
  }
  const Result result = Measure(round_trips, gap_us);
  const std::string json = fmt::format(
      "{{\"round_trips\": {}, \"gap_us\": {}, \"message_bytes\": {}, "
      "\"wall_us_per_round_trip\": {:.2f}, "
      "\"sender_cpu_us_per_round_trip\": {:.2f}, \"hop_cpu_us\": {:.2f}}}\n",
      round_trips, gap_us, kMessageBytes, result.wall_us_per_round_trip,
      result.sender_cpu_us_per_round_trip, result.hop_cpu_us);
  std::fputs(json.c_str(), stdout);
  const std::string path = absl::GetFlag(FLAGS_json);
  if (!path.empty()) {
    std::ofstream out(path);
    out << json;
    if (!out) {
      std::fprintf(stderr, "message-floor: cannot write %s\n", path.c_str());
      return 1;
    }
  }
  return 0;
}
