#include "test_herd.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "fmt/format.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "herdnode/ops/server_log.h"

namespace herd::testing {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(20);
constexpr absl::Duration kCallDeadline = absl::Seconds(2);

class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

bool PollUntil(absl::Duration timeout, const std::function<bool()>& poll) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (poll()) return true;
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(kPollInterval));
  }
  return poll();
}

std::vector<int> PickFreeLoopbackPorts(size_t count) {
  // Keep every socket bound until all are chosen, so the ports differ.
  std::vector<std::unique_ptr<Socket>> sockets;
  std::vector<int> ports;
  for (size_t i = 0; i < count; ++i) {
    auto socket = std::make_unique<Socket>();
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    // sockaddr_in is passed as the generic sockaddr the API takes.
    if (::bind(socket->fd(), reinterpret_cast<sockaddr*>(&address),
               sizeof(address)) != 0 ||
        ::getsockname(socket->fd(), reinterpret_cast<sockaddr*>(&address),
                      &length) != 0) {
      ADD_FAILURE() << "cannot bind a loopback socket";
      return ports;
    }
    ports.push_back(ntohs(address.sin_port));
    sockets.push_back(std::move(socket));
  }
  return ports;
}

TestHerd::TestHerd(
    const std::vector<std::string>& names,
    const std::vector<std::pair<std::string, std::string>>& links) {
  const std::vector<int> ports = PickFreeLoopbackPorts(2 * names.size());
  for (size_t i = 0; i < names.size() && 2 * i + 1 < ports.size(); ++i) {
    v1::ServerConfig* server = config_.add_servers();
    server->set_name(names[i]);
    server->set_gateway_address(fmt::format("127.0.0.1:{}", ports[2 * i]));
    server->set_grpc_address(fmt::format("127.0.0.1:{}", ports[2 * i + 1]));
  }
  for (const auto& [a, b] : links) {
    v1::Link* link = config_.add_links();
    link->set_a(a);
    link->set_b(b);
  }
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  log_dir_ = (std::filesystem::path(::testing::TempDir()) /
              fmt::format("herd_node_test_{}_{}", ::getpid(),
                          test != nullptr ? test->name() : "herd"))
                 .string();
}

TestHerd::~TestHerd() {
  // Stop all before destroying any (links of one call into the others).
  for (auto& [name, node] : nodes_) node->Stop();
  nodes_.clear();
  std::error_code ignored;
  std::filesystem::remove_all(log_dir_, ignored);
}

void TestHerd::UseDurableLog(const std::string& data_directory,
                             DurableEnv& env) {
  config_.mutable_durability()->set_data_directory(data_directory);
  durable_env_ = &env;
}

absl::Status TestHerd::Start(const std::string& name,
                             std::unique_ptr<PlacesProvider> places) {
  absl::StatusOr<std::shared_ptr<spdlog::logger>> log =
      OpenServerLog(log_dir_, name);
  if (!log.ok()) return log.status();
  NodeOptions options;
  options.config = config_;
  options.server_name = name;
  options.log = *log;
  options.places = std::move(places);
  options.durable_env = durable_env_;
  absl::StatusOr<std::unique_ptr<Node>> node = Node::Start(std::move(options));
  if (!node.ok()) return node.status();
  nodes_[name] = std::move(*node);
  return absl::OkStatus();
}

void TestHerd::Stop(const std::string& name) {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return;
  it->second->Stop();
  nodes_.erase(it);
}

std::unique_ptr<v1::HerdNode::Stub> TestHerd::Stub(
    const std::string& name) const {
  for (const v1::ServerConfig& server : config_.servers()) {
    if (server.name() == name) {
      return v1::HerdNode::NewStub(grpc::CreateChannel(
          server.grpc_address(), grpc::InsecureChannelCredentials()));
    }
  }
  ADD_FAILURE() << "no server " << name;
  return nullptr;
}

bool TestHerd::WaitForLocation(const std::string& name,
                               const std::string& client,
                               const std::string& client_time_text,
                               absl::Duration timeout) const {
  std::unique_ptr<v1::HerdNode::Stub> stub = Stub(name);
  return PollUntil(timeout, [&] {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
    v1::GetLocationRequest request;
    request.set_client_id(client);
    v1::GetLocationResponse response;
    return stub->GetLocation(&context, request, &response).ok() &&
           response.location().client_time_text() == client_time_text;
  });
}

bool TestHerd::WaitForLinkState(const std::string& name,
                                const std::string& peer,
                                const std::string& state,
                                absl::Duration timeout) const {
  std::unique_ptr<v1::HerdNode::Stub> stub = Stub(name);
  return PollUntil(timeout, [&] {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
    v1::GetStatusResponse response;
    if (!stub->GetStatus(&context, v1::GetStatusRequest(), &response).ok()) {
      return false;
    }
    for (const v1::PeerStatus& status : response.peers()) {
      if (status.name() == peer) return status.state() == state;
    }
    return false;
  });
}

grpc::Status TestHerd::Report(const std::string& name,
                              const std::string& client,
                              const std::string& coordinates,
                              const std::string& client_time_text) const {
  std::unique_ptr<v1::HerdNode::Stub> stub = Stub(name);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
  v1::ReportLocationRequest request;
  request.set_client_id(client);
  request.set_coordinates_text(coordinates);
  request.set_client_time_text(client_time_text);
  v1::ReportLocationResponse response;
  return stub->ReportLocation(&context, request, &response);
}

}  // namespace herd::testing
