// libFuzzer target: the herd file loader (herdnode/config.h) on arbitrary
// bytes, through the same LoadHerdConfig that herdnode runs. A herd file it
// accepts must really be usable: every server findable, every link naming
// servers, every gateway limit resolved, and printing it back yields a file
// that loads to the same herd. One it rejects must say why.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "common/host_port.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "herdnode/config.h"

namespace {

void Require(bool holds, const char* property) {
  if (holds) return;
  std::fprintf(stderr, "property violated: %s\n", property);
  std::abort();
}

// LoadHerdConfig reads a path, so each input goes through one scratch file
// per fuzzing process, removed when the process ends.
class ScratchFile {
 public:
  ScratchFile()
      : path_(std::filesystem::temp_directory_path() /
              ("fuzz_herd_config." + std::to_string(getpid()) + ".textproto")) {
  }
  ~ScratchFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  absl::StatusOr<herd::v1::HerdConfig> Load(std::string_view text) const {
    {
      std::ofstream out(path_, std::ios::binary | std::ios::trunc);
      out.write(text.data(), static_cast<std::streamsize>(text.size()));
      Require(out.good(), "the scratch herd file can be written");
    }
    return herd::LoadHerdConfig(path_.string());
  }

 private:
  std::filesystem::path path_;
};

void CheckAccepted(const ScratchFile& scratch,
                   const herd::v1::HerdConfig& config) {
  Require(herd::ValidateHerdConfig(config).ok(),
          "a loaded herd passes ValidateHerdConfig");
  for (const herd::v1::ServerConfig& server : config.servers()) {
    const auto found = herd::FindServer(config, server.name());
    Require(found.ok() && *found == &server, "every server is findable");
    Require(herd::ParseHostPort(server.grpc_address()).ok(),
            "every server's grpc_address parses");
    // Either gateway may be off (empty), never both; a set one parses.
    Require(!server.gateway_address().empty() ||
                !server.tls_gateway_address().empty(),
            "every server has a gateway");
    for (const std::string* gateway :
         {&server.gateway_address(), &server.tls_gateway_address()}) {
      Require(gateway->empty() || herd::ParseHostPort(*gateway).ok(),
              "every gateway address that is set parses");
    }
    Require(server.tls_gateway_address().empty() || config.has_gateway_tls(),
            "a TLS gateway comes with a gateway_tls section");
    for (const std::string& peer : herd::LinkedPeers(config, server.name())) {
      Require(herd::FindServer(config, peer).ok() && peer != server.name(),
              "links join two distinct known servers");
    }
  }
  const herd::v1::GatewayLimits limits = herd::EffectiveGatewayLimits(config);
  Require(limits.max_line_bytes() != 0 && limits.max_connections() != 0 &&
              limits.max_pending_output_bytes() != 0 &&
              limits.idle_timeout_seconds() != 0 &&
              limits.max_pipelined_requests() != 0,
          "every gateway limit resolves to a non-zero value");
  std::string printed;
  Require(google::protobuf::TextFormat::PrintToString(config, &printed),
          "a loaded herd prints");
  const auto reloaded = scratch.Load(printed);
  Require(reloaded.ok(), "a printed herd loads again");
  Require(google::protobuf::util::MessageDifferencer::Equals(*reloaded, config),
          "a printed herd loads to the same herd");
}

void CheckAddressParsing(std::string_view text) {
  const auto host_port = herd::ParseHostPort(text);
  if (host_port.ok()) {
    Require(host_port->port != 0, "ParseHostPort never yields port 0");
    Require(!host_port->host.empty(), "ParseHostPort never yields no host");
  }
  (void)herd::IsIpAddress(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ScratchFile scratch;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto config = scratch.Load(text);
  if (config.ok()) {
    CheckAccepted(scratch, *config);
  } else {
    Require(!config.status().message().empty(),
            "a rejected herd file says why");
  }
  CheckAddressParsing(text);
  return 0;
}
