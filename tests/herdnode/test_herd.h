// A small herd of real Nodes in one test process, each on its own free
// loopback port, reached by its tests over real TCP.
#ifndef HERD_TESTS_HERDNODE_TEST_HERD_H_
#define HERD_TESTS_HERDNODE_TEST_HERD_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "herd/v1/herd.grpc.pb.h"
#include "herdnode/node.h"

namespace herd::testing {

// Calls poll every few milliseconds until it returns true or timeout
// passes; false on time-out.
bool PollUntil(absl::Duration timeout, const std::function<bool()>& poll);

// Ports nobody listens on right now, distinct from each other.
std::vector<int> PickFreeLoopbackPorts(size_t count);

class TestHerd {
 public:
  TestHerd(const std::vector<std::string>& names,
           const std::vector<std::pair<std::string, std::string>>& links);
  ~TestHerd();

  const v1::HerdConfig& config() const { return config_; }
  // Nodes started from now on keep a durable log under data_directory,
  // written through env (which must outlive them): the real disk, or a
  // FaultEnv to fail it.
  void UseDurableLog(const std::string& data_directory, DurableEnv& env);
  absl::Status Start(const std::string& name,
                     std::unique_ptr<PlacesProvider> places = nullptr);
  void Stop(const std::string& name);
  Node& node(const std::string& name) { return *nodes_.at(name); }

  // A client of name's HerdNode service over TCP.
  std::unique_ptr<v1::HerdNode::Stub> Stub(const std::string& name) const;

  // Polls name's GetLocation until it holds client at client_time_text;
  // false if that does not happen within timeout.
  bool WaitForLocation(const std::string& name, const std::string& client,
                       const std::string& client_time_text,
                       absl::Duration timeout = absl::Seconds(20)) const;
  // Polls name's GetStatus until its link to peer is in state.
  bool WaitForLinkState(const std::string& name, const std::string& peer,
                        const std::string& state,
                        absl::Duration timeout = absl::Seconds(20)) const;

  // ReportLocation at name, as the gateway would for an IAMAT.
  grpc::Status Report(const std::string& name, const std::string& client,
                      const std::string& coordinates,
                      const std::string& client_time_text) const;

 private:
  v1::HerdConfig config_;
  std::string log_dir_;
  DurableEnv* durable_env_ = &PosixDurableEnv();
  std::map<std::string, std::unique_ptr<Node>> nodes_;
};

}  // namespace herd::testing

#endif  // HERD_TESTS_HERDNODE_TEST_HERD_H_
