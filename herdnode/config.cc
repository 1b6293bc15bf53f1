#include "herdnode/config.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/gateway_limits.h"
#include "common/host_port.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace herd {
namespace {

// Collects the text-format parser's complaints with 1-based line:column.
class CollectingErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    Add("error", line, column, message);
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    Add("warning", line, column, message);
  }
  std::string Text() const { return absl::StrJoin(lines_, "; "); }

 private:
  void Add(const char* kind, int line, int column, const std::string& message) {
    // The parser counts from 0; editors count from 1.
    lines_.push_back(
        absl::StrCat(line + 1, ":", column + 1, ": ", kind, ": ", message));
  }
  std::vector<std::string> lines_;
};

bool HasWhitespaceOrControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isspace(u) != 0 || std::iscntrl(u) != 0;
  });
}

absl::Status ValidateServers(const v1::HerdConfig& config) {
  if (config.servers().empty()) {
    return absl::InvalidArgumentError("the herd has no servers");
  }
  absl::flat_hash_set<std::string> names;
  // Normalized address -> "server NAME's gateway_address".
  absl::flat_hash_map<std::string, std::string> addresses;
  for (int i = 0; i < config.servers_size(); ++i) {
    const v1::ServerConfig& server = config.servers(i);
    if (server.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("server #", i + 1, " has no name"));
    }
    if (HasWhitespaceOrControl(server.name())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "server name '", server.name(), "' contains whitespace"));
    }
    if (!names.insert(server.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("server name '", server.name(), "' is used twice"));
    }
    // Clients need a way in; either gateway may be turned off, not both.
    if (server.gateway_address().empty() &&
        server.tls_gateway_address().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("server ", server.name(),
                       " has no gateway: set gateway_address, "
                       "tls_gateway_address or both"));
    }
    if (!server.tls_gateway_address().empty() && !config.has_gateway_tls()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "server ", server.name(),
          " has a tls_gateway_address but the herd file has no gateway_tls "
          "section (the client CA and the gateway's certificate)"));
    }
    struct AddressField {
      const char* name;
      const std::string* value;
      bool optional;  // every listener but the node's may be left out
    };
    // Decided by a flag, not by comparing pointers: unset proto3 strings all
    // share one empty default instance.
    const AddressField fields[] = {
        {"gateway_address", &server.gateway_address(), true},
        {"tls_gateway_address", &server.tls_gateway_address(), true},
        {"grpc_address", &server.grpc_address(), false},
        {"operator_address", &server.operator_address(), true},
        {"http_address", &server.http_address(), true}};
    for (const auto& [field, value, optional] : fields) {
      if (optional && value->empty()) continue;
      const std::string owner =
          absl::StrCat("server ", server.name(), "'s ", field);
      absl::StatusOr<HostPort> parsed = ParseHostPort(*value);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(owner, ": ", parsed.status().message()));
      }
      const std::string key =
          absl::StrCat(absl::AsciiStrToLower(parsed->host), ":", parsed->port);
      auto [it, inserted] = addresses.emplace(key, owner);
      if (!inserted) {
        return absl::InvalidArgumentError(
            absl::StrCat(owner, " '", *value, "' is already ", it->second));
      }
    }
    for (const std::string& peer : server.trusted_peer_addresses()) {
      if (!IsIpAddress(peer)) {
        return absl::InvalidArgumentError(
            absl::StrCat("server ", server.name(), "'s trusted peer address '",
                         peer, "' is not an IPv4 or IPv6 address"));
      }
    }
  }
  return absl::OkStatus();
}

// A numeric herd-file field and the values it may take besides 0, which
// always means its default.
struct FieldRange {
  const char* name;  // its path in the herd file
  uint64_t value;
  uint64_t min;
  uint64_t max;
  const char* unit;
};

// The one table of ranges; config.proto and README.md ("Limits") document
// the same numbers.
absl::Status ValidateRanges(const v1::HerdConfig& config) {
  const v1::GatewayLimits& gateway = config.gateway_limits();
  const v1::GooglePlaces& google = config.places().google();
  const v1::DurabilityConfig& durability = config.durability();
  const FieldRange ranges[] = {
      {"gateway_limits.max_line_bytes", gateway.max_line_bytes(), 64, 1 << 20,
       "bytes"},
      {"gateway_limits.max_connections", gateway.max_connections(), 1,
       1'000'000, "connections"},
      {"gateway_limits.max_pending_output_bytes",
       gateway.max_pending_output_bytes(), 4096, 1 << 30, "bytes"},
      {"gateway_limits.idle_timeout_seconds", gateway.idle_timeout_seconds(), 1,
       86'400, "seconds"},
      {"gateway_limits.max_pipelined_requests",
       gateway.max_pipelined_requests(), 1, 4096, "requests"},
      {"gateway_limits.threads", gateway.threads(), 1, 256, "threads"},
      {"gateway_limits.report_linger_us", gateway.report_linger_us(), 0,
       kMaxReportLingerUs, "microseconds"},
      {"places.google.timeout_ms", google.timeout_ms(), 1, 60'000,
       "milliseconds"},
      {"places.google.cache_ttl_seconds", google.cache_ttl_seconds(), 1, 86'400,
       "seconds"},
      {"durability.fsync_interval_ms", durability.fsync_interval_ms(), 1,
       60'000, "milliseconds"},
      {"durability.snapshot_every_entries", durability.snapshot_every_entries(),
       1, 100'000'000, "entries"},
      {"max_client_time_ahead_seconds", config.max_client_time_ahead_seconds(),
       1, 86'400, "seconds"},
  };
  for (const FieldRange& field : ranges) {
    if (field.value != 0 &&
        (field.value < field.min || field.value > field.max)) {
      return absl::InvalidArgumentError(absl::StrCat(
          field.name, " is ", field.value, ": not in [", field.min, ", ",
          field.max, "] ", field.unit, " (0 for the default)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLinks(const v1::HerdConfig& config) {
  absl::flat_hash_set<std::string> names;
  for (const v1::ServerConfig& server : config.servers()) {
    names.insert(server.name());
  }
  absl::flat_hash_set<std::pair<std::string, std::string>> links;
  for (const v1::Link& link : config.links()) {
    for (const std::string* end : {&link.a(), &link.b()}) {
      if (!names.contains(*end)) {
        return absl::InvalidArgumentError(
            absl::StrCat("link ", link.a(), "-", link.b(),
                         " names unknown server '", *end, "'"));
      }
    }
    if (link.a() == link.b()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "link ", link.a(), "-", link.b(), " links a server to itself"));
    }
    // a-b and b-a are the same link.
    auto key = std::minmax(link.a(), link.b());
    if (!links.emplace(key.first, key.second).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "link ", link.a(), "-", link.b(), " is listed more than once"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateHerdConfig(const v1::HerdConfig& config) {
  if (absl::Status status = ValidateServers(config); !status.ok()) {
    return status;
  }
  if (absl::Status status = ValidateRanges(config); !status.ok()) {
    return status;
  }
  return ValidateLinks(config);
}

absl::StatusOr<std::string> ReadHerdFileText(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(
        absl::StrCat("cannot open herd file '", path, "'"));
  }
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return absl::DataLossError(
        absl::StrCat("cannot read herd file '", path, "'"));
  }
  return text.str();
}

absl::StatusOr<v1::HerdConfig> ParseHerdConfig(const std::string& text,
                                               const std::string& path) {
  v1::HerdConfig config;
  google::protobuf::TextFormat::Parser parser;
  CollectingErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &config)) {
    return absl::InvalidArgumentError(
        absl::StrCat("herd file '", path, "': ", errors.Text()));
  }
  if (absl::Status status = ValidateHerdConfig(config); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("herd file '", path, "': ", status.message()));
  }
  return config;
}

absl::StatusOr<v1::HerdConfig> LoadHerdConfig(const std::string& path) {
  absl::StatusOr<std::string> text = ReadHerdFileText(path);
  if (!text.ok()) return text.status();
  return ParseHerdConfig(*text, path);
}

absl::StatusOr<const v1::ServerConfig*> FindServer(const v1::HerdConfig& config,
                                                   std::string_view name) {
  std::vector<std::string> known;
  for (const v1::ServerConfig& server : config.servers()) {
    if (server.name() == name) return &server;
    known.push_back(server.name());
  }
  return absl::NotFoundError(
      absl::StrCat("no server named '", std::string(name),
                   "' in the herd (known: ", absl::StrJoin(known, ", "), ")"));
}

std::vector<std::string> LinkedPeers(const v1::HerdConfig& config,
                                     std::string_view name) {
  std::vector<std::string> peers;
  for (const v1::Link& link : config.links()) {
    if (link.a() == name) peers.push_back(link.b());
    if (link.b() == name) peers.push_back(link.a());
  }
  return peers;
}

absl::Status ListenOnHost(v1::HerdConfig& config, std::string_view self,
                          std::string_view host) {
  std::string bare(host);
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  if (!ParseHostPort(FormatHostPort(bare, 1)).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen_host '", std::string(host),
                     "' is not a host name or an IP address"));
  }
  v1::ServerConfig* server = nullptr;
  for (v1::ServerConfig& candidate : *config.mutable_servers()) {
    if (candidate.name() == self) server = &candidate;
  }
  if (server == nullptr) return FindServer(config, self).status();
  for (std::string* address :
       {server->mutable_gateway_address(),
        server->mutable_tls_gateway_address(), server->mutable_grpc_address(),
        server->mutable_operator_address(), server->mutable_http_address()}) {
    if (address->empty()) continue;
    // The herd file validated: every address parses.
    absl::StatusOr<HostPort> parsed = ParseHostPort(*address);
    if (!parsed.ok()) return parsed.status();
    *address = FormatHostPort(bare, parsed->port);
  }
  return absl::OkStatus();
}

v1::GatewayLimits EffectiveGatewayLimits(const v1::HerdConfig& config) {
  return GatewayLimitsWithDefaults(config.gateway_limits());
}

uint32_t EffectiveMaxClientTimeAheadSeconds(const v1::HerdConfig& config) {
  return config.max_client_time_ahead_seconds() != 0
             ? config.max_client_time_ahead_seconds()
             : kDefaultMaxClientTimeAheadSeconds;
}

}  // namespace herd
