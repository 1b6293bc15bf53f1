// The herd file: the shipped one loads; every validation rule has an error
// that names the problem.
#include "herdnode/config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/host_port.h"
#include "common/status_text.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace herd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::HerdConfig Parse(const std::string& text) {
  v1::HerdConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config))
      << text;
  return config;
}

// Two servers, one link: valid, and the base every broken case starts from.
constexpr char kTwoServers[] = R"pb(
  servers {
    name: "A"
    gateway_address: "127.0.0.1:1001"
    grpc_address: "127.0.0.1:2001"
  }
  servers {
    name: "B"
    gateway_address: "127.0.0.1:1002"
    grpc_address: "127.0.0.1:2002"
  }
  links { a: "A" b: "B" }
)pb";

std::string ValidationError(const v1::HerdConfig& config) {
  absl::Status status = ValidateHerdConfig(config);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  return StatusMessage(status);
}

TEST(LoadHerdConfigTest, ShippedFileLoads) {
  absl::StatusOr<v1::HerdConfig> config = LoadHerdConfig(HERD_SHIPPED_CONFIG);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->servers_size(), 5);
  EXPECT_EQ(config->links_size(), 5);
  EXPECT_THAT(LinkedPeers(*config, "Parker"),
              ElementsAre("Alford", "Bolden", "Hamilton"));
  EXPECT_THAT(LinkedPeers(*config, "Hamilton"), ElementsAre("Parker"));
}

class TempFile {
 public:
  explicit TempFile(const std::string& text)
      : path_(
            std::filesystem::temp_directory_path() /
            ("herd_config_test_" + std::to_string(::getpid()) + ".textproto")) {
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(LoadHerdConfigTest, ParseErrorNamesLineAndColumn) {
  TempFile file("servers { name: \"A\" }\nservers { nmae: \"B\" }\n");
  absl::StatusOr<v1::HerdConfig> config = LoadHerdConfig(file.path());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(StatusMessage(config.status()), HasSubstr("2:"));
  EXPECT_THAT(StatusMessage(config.status()), HasSubstr("nmae"));
}

TEST(LoadHerdConfigTest, ValidationErrorNamesFile) {
  TempFile file("links { a: \"A\" b: \"B\" }\n");
  absl::StatusOr<v1::HerdConfig> config = LoadHerdConfig(file.path());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(StatusMessage(config.status()), HasSubstr(file.path()));
  EXPECT_THAT(StatusMessage(config.status()), HasSubstr("no servers"));
}

TEST(LoadHerdConfigTest, MissingFileIsNamed) {
  absl::StatusOr<v1::HerdConfig> config =
      LoadHerdConfig("/nonexistent/herd.textproto");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(StatusMessage(config.status()),
              HasSubstr("/nonexistent/herd.textproto"));
}

TEST(ValidateHerdConfigTest, BaseIsValid) {
  EXPECT_TRUE(ValidateHerdConfig(Parse(kTwoServers)).ok());
}

TEST(ValidateHerdConfigTest, NoServers) {
  EXPECT_THAT(ValidationError(v1::HerdConfig()), HasSubstr("no servers"));
}

TEST(ValidateHerdConfigTest, EmptyName) {
  v1::HerdConfig config = Parse(kTwoServers);
  config.mutable_servers(1)->clear_name();
  EXPECT_THAT(ValidationError(config), HasSubstr("server #2 has no name"));
}

TEST(ValidateHerdConfigTest, NameWithWhitespace) {
  v1::HerdConfig config = Parse(kTwoServers);
  config.mutable_servers(0)->set_name("Al ford");
  EXPECT_THAT(ValidationError(config),
              HasSubstr("'Al ford' contains whitespace"));
}

TEST(ValidateHerdConfigTest, DuplicateName) {
  v1::HerdConfig config = Parse(kTwoServers);
  config.mutable_servers(1)->set_name("A");
  EXPECT_THAT(ValidationError(config), HasSubstr("'A' is used twice"));
}

TEST(ValidateHerdConfigTest, BadAddresses) {
  const struct {
    const char* address;
    const char* complaint;
  } cases[] = {
      {"127.0.0.1", "not host:port"},     {"127.0.0.1:0", "1..65535"},
      {"127.0.0.1:65536", "1..65535"},    {"127.0.0.1:http", "1..65535"},
      {"127.0.0.1:", "1..65535"},         {":2001", "host name"},
      {"::1:2001", "without brackets"},   {"[::1:2001", "unclosed"},
      {"[nothing]:2001", "invalid IPv6"}, {"bad host:2001", "host name"},
  };
  for (const auto& c : cases) {
    v1::HerdConfig config = Parse(kTwoServers);
    config.mutable_servers(1)->set_grpc_address(c.address);
    const std::string error = ValidationError(config);
    EXPECT_THAT(error, HasSubstr("server B's grpc_address")) << c.address;
    EXPECT_THAT(error, HasSubstr(c.complaint)) << c.address;
  }
}

TEST(ValidateHerdConfigTest, GoodAddresses) {
  for (const char* address : {"[::1]:2002", "localhost:65535", "10.0.0.1:1",
                              "node-1.example.com:443"}) {
    v1::HerdConfig config = Parse(kTwoServers);
    config.mutable_servers(1)->set_grpc_address(address);
    EXPECT_TRUE(ValidateHerdConfig(config).ok()) << address;
  }
  absl::StatusOr<HostPort> v6 = ParseHostPort("[::1]:2002");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 2002);
}

TEST(ValidateHerdConfigTest, SharedAddress) {
  v1::HerdConfig config = Parse(kTwoServers);
  config.mutable_servers(1)->set_gateway_address("127.0.0.1:2001");
  EXPECT_THAT(ValidationError(config),
              HasSubstr("server B's gateway_address '127.0.0.1:2001' is "
                        "already server A's grpc_address"));
}

TEST(ValidateHerdConfigTest, OperatorAddressIsOptionalButChecked) {
  v1::HerdConfig config = Parse(kTwoServers);
  config.mutable_servers(0)->set_operator_address("127.0.0.1:3001");
  EXPECT_TRUE(ValidateHerdConfig(config).ok());
  config.mutable_servers(1)->set_operator_address("127.0.0.1:0");
  EXPECT_THAT(ValidationError(config),
              HasSubstr("server B's operator_address"));
  config.mutable_servers(1)->set_operator_address("127.0.0.1:2002");
  EXPECT_THAT(ValidationError(config),
              HasSubstr("server B's operator_address '127.0.0.1:2002' is "
                        "already server B's grpc_address"));
}

TEST(ValidateHerdConfigTest, GrpcAddressIsRequired) {
  // Found by fuzz_herd_config: an unset required address must not pass as an
  // unset optional one.
  v1::HerdConfig config = Parse(kTwoServers);
  config.mutable_servers(0)->clear_grpc_address();
  EXPECT_THAT(ValidationError(config), HasSubstr("server A's grpc_address"));
}

TEST(ValidateHerdConfigTest, EitherGatewayMayBeOffButNotBoth) {
  v1::HerdConfig config = Parse(kTwoServers);
  config.mutable_servers(1)->clear_gateway_address();
  EXPECT_THAT(ValidationError(config),
              HasSubstr("server B has no gateway: set gateway_address, "
                        "tls_gateway_address or both"));
  config.mutable_servers(1)->set_tls_gateway_address("127.0.0.1:4002");
  EXPECT_THAT(ValidationError(config),
              HasSubstr("server B has a tls_gateway_address but the herd file "
                        "has no gateway_tls section"));
  config.mutable_gateway_tls()->set_client_ca_cert_path("clients/ca.crt");
  EXPECT_TRUE(ValidateHerdConfig(config).ok()) << ValidateHerdConfig(config);
  config.mutable_servers(0)->set_tls_gateway_address("127.0.0.1:1002x");
  EXPECT_THAT(ValidationError(config),
              HasSubstr("server A's tls_gateway_address"));
  config.mutable_servers(0)->set_tls_gateway_address("127.0.0.1:4002");
  EXPECT_THAT(ValidationError(config),
              HasSubstr("server B's tls_gateway_address '127.0.0.1:4002' is "
                        "already server A's tls_gateway_address"));
}

TEST(ValidateHerdConfigTest, LinkToUnknownServer) {
  v1::HerdConfig config = Parse(kTwoServers);
  config.mutable_links(0)->set_b("C");
  EXPECT_THAT(ValidationError(config), HasSubstr("unknown server 'C'"));
}

TEST(ValidateHerdConfigTest, SelfLink) {
  v1::HerdConfig config = Parse(kTwoServers);
  config.mutable_links(0)->set_b("A");
  EXPECT_THAT(ValidationError(config), HasSubstr("links a server to itself"));
}

TEST(ValidateHerdConfigTest, DuplicateLinkInEitherDirection) {
  v1::HerdConfig config = Parse(kTwoServers);
  v1::Link* reverse = config.add_links();
  reverse->set_a("B");
  reverse->set_b("A");
  EXPECT_THAT(ValidationError(config),
              HasSubstr("B-A is listed more than once"));
}

TEST(ValidateHerdConfigTest, TrustedPeersMustBeIps) {
  v1::HerdConfig config = Parse(kTwoServers);
  config.mutable_servers(0)->add_trusted_peer_addresses("127.0.0.1");
  config.mutable_servers(0)->add_trusted_peer_addresses("::1");
  EXPECT_TRUE(ValidateHerdConfig(config).ok());
  config.mutable_servers(0)->add_trusted_peer_addresses("localhost");
  EXPECT_THAT(
      ValidationError(config),
      HasSubstr("trusted peer address 'localhost' is not an IPv4 or IPv6"));
}

TEST(FindServerTest, ListsKnownNamesWhenAbsent) {
  v1::HerdConfig config = Parse(kTwoServers);
  absl::StatusOr<const v1::ServerConfig*> found = FindServer(config, "B");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)->grpc_address(), "127.0.0.1:2002");
  found = FindServer(config, "Zed");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(StatusMessage(found.status()),
              HasSubstr("'Zed' in the herd (known: A, B)"));
}

TEST(EffectiveGatewayLimitsTest, ZeroMeansDefault) {
  v1::HerdConfig config = Parse(kTwoServers);
  config.mutable_gateway_limits()->set_max_line_bytes(100);
  const v1::GatewayLimits limits = EffectiveGatewayLimits(config);
  EXPECT_EQ(limits.max_line_bytes(), 100u);
  EXPECT_EQ(limits.max_connections(), 10000u);
  EXPECT_EQ(limits.max_pending_output_bytes(), 1u << 20);
  EXPECT_EQ(limits.idle_timeout_seconds(), 300u);
  EXPECT_EQ(limits.max_pipelined_requests(), 64u);
  EXPECT_GE(limits.threads(), 1u);
  EXPECT_EQ(limits.report_linger_us(), 0u);  // none unless asked for
}

TEST(ValidateHerdConfigTest, ReportLingerIsBounded) {
  v1::HerdConfig config = Parse(kTwoServers);
  config.mutable_gateway_limits()->set_report_linger_us(kMaxReportLingerUs);
  EXPECT_TRUE(ValidateHerdConfig(config).ok());
  config.mutable_gateway_limits()->set_report_linger_us(kMaxReportLingerUs + 1);
  EXPECT_THAT(StatusMessage(ValidateHerdConfig(config)),
              HasSubstr("gateway_limits.report_linger_us is 1001: not in "
                        "[0, 1000] microseconds"));
}

// Calls visit(path, message, field) for every integer field of message and
// of the messages inside it (set or not), path being the field's herd-file
// name ("gateway_limits.max_line_bytes").
void ForEachNumber(
    google::protobuf::Message& message, const std::string& prefix,
    const std::function<void(const std::string&, google::protobuf::Message&,
                             const google::protobuf::FieldDescriptor&)>&
        visit) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Descriptor& type = *message.GetDescriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    const std::string path = prefix + std::string(field.name());
    if (field.is_repeated()) continue;  // servers, links: no numbers
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      ForEachNumber(*message.GetReflection()->MutableMessage(&message, &field),
                    path + ".", visit);
    } else if (field.cpp_type() == FieldDescriptor::CPPTYPE_UINT32) {
      visit(path, message, field);
    } else {
      // A new kind of number would need a range too; fail until it has one.
      ASSERT_TRUE(field.cpp_type() == FieldDescriptor::CPPTYPE_STRING ||
                  field.cpp_type() == FieldDescriptor::CPPTYPE_BOOL ||
                  field.cpp_type() == FieldDescriptor::CPPTYPE_ENUM)
          << path << " is a number ValidateHerdConfig does not bound";
    }
  }
}

// Every number in the herd file has an upper bound (and 4294967295 is
// above each one): the error names the field, the value and the range.
TEST(ValidateHerdConfigTest, EveryNumberHasARange) {
  int numbers = 0;
  v1::HerdConfig all = Parse(kTwoServers);
  ForEachNumber(
      all, "",
      [&](const std::string& path, google::protobuf::Message&,
          const google::protobuf::FieldDescriptor& field) {
        ++numbers;
        v1::HerdConfig config = Parse(kTwoServers);
        ForEachNumber(
            config, "",
            [&](const std::string& other, google::protobuf::Message& m,
                const google::protobuf::FieldDescriptor& f) {
              if (other == path) {
                m.GetReflection()->SetUInt32(&m, &f, 4294967295u);
              }
            });
        const absl::Status status = ValidateHerdConfig(config);
        EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << path;
        EXPECT_THAT(StatusMessage(status),
                    HasSubstr(absl::StrCat(path, " is 4294967295: not in [")))
            << path << " (" << field.full_name() << ")";
      });
  // GatewayLimits (7), GooglePlaces (2), DurabilityConfig (2), HerdConfig.
  EXPECT_EQ(numbers, 12);
}

TEST(ValidateHerdConfigTest, RangesIncludeTheirEnds) {
  v1::HerdConfig config = Parse(kTwoServers);
  v1::GatewayLimits& limits = *config.mutable_gateway_limits();
  limits.set_max_line_bytes(64);
  limits.set_max_pending_output_bytes(1u << 30);
  config.set_max_client_time_ahead_seconds(86400);
  config.mutable_durability()->set_snapshot_every_entries(1);
  EXPECT_TRUE(ValidateHerdConfig(config).ok());
  limits.set_max_line_bytes(63);
  EXPECT_THAT(StatusMessage(ValidateHerdConfig(config)),
              HasSubstr("gateway_limits.max_line_bytes is 63: not in [64, "
                        "1048576] bytes (0 for the default)"));
  limits.set_max_line_bytes(0);
  config.set_max_client_time_ahead_seconds(86401);
  EXPECT_THAT(StatusMessage(ValidateHerdConfig(config)),
              HasSubstr("max_client_time_ahead_seconds is 86401: not in [1, "
                        "86400] seconds"));
}

TEST(EffectiveMaxClientTimeAheadTest, ZeroMeansDefault) {
  v1::HerdConfig config = Parse(kTwoServers);
  EXPECT_EQ(EffectiveMaxClientTimeAheadSeconds(config),
            kDefaultMaxClientTimeAheadSeconds);
  config.set_max_client_time_ahead_seconds(5);
  EXPECT_EQ(EffectiveMaxClientTimeAheadSeconds(config), 5u);
}

TEST(ListenOnHostTest, OwnAddressesMoveToTheHostPortsStay) {
  v1::HerdConfig config = Parse(kTwoServers);
  config.mutable_servers(0)->set_operator_address("127.0.0.1:3001");
  ASSERT_TRUE(ListenOnHost(config, "A", "0.0.0.0").ok());
  EXPECT_EQ(config.servers(0).gateway_address(), "0.0.0.0:1001");
  EXPECT_EQ(config.servers(0).grpc_address(), "0.0.0.0:2001");
  EXPECT_EQ(config.servers(0).operator_address(), "0.0.0.0:3001");
  EXPECT_EQ(config.servers(0).http_address(), "");  // none stays none
  EXPECT_EQ(config.servers(1).grpc_address(), "127.0.0.1:2002");  // a peer's
  EXPECT_TRUE(ValidateHerdConfig(config).ok());
  ASSERT_TRUE(ListenOnHost(config, "B", "[::]").ok());
  EXPECT_EQ(config.servers(1).grpc_address(), "[::]:2002");
  ASSERT_TRUE(ListenOnHost(config, "B", "::1").ok());
  EXPECT_EQ(config.servers(1).grpc_address(), "[::1]:2002");
}

TEST(ListenOnHostTest, BadHostOrUnknownServerChangesNothing) {
  const v1::HerdConfig original = Parse(kTwoServers);
  v1::HerdConfig config = original;
  const absl::Status bad = ListenOnHost(config, "A", "not a host");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(StatusMessage(bad), HasSubstr("--listen_host 'not a host'"));
  EXPECT_EQ(ListenOnHost(config, "C", "0.0.0.0").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(config.DebugString(), original.DebugString());
}

}  // namespace
}  // namespace herd
