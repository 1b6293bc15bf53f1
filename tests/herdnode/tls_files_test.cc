#include "herdnode/mesh/tls_files.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/status_text.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

TEST(ResolveTlsPathTest, ReplacesNameAndAnchorsRelativePaths) {
  EXPECT_EQ(ResolveTlsPath("certs/{name}.crt", "Parker", "/etc/herd"),
            fs::path("/etc/herd/certs/Parker.crt"));
  EXPECT_EQ(ResolveTlsPath("/abs/{name}/{name}.key", "Bolden", "/etc/herd"),
            fs::path("/abs/Bolden/Bolden.key"));
  // A herd file given without a directory: relative to the working one.
  EXPECT_EQ(ResolveTlsPath("certs/ca.crt", "Parker", ""),
            fs::path("certs/ca.crt"));
}

// Certificates made by deploy/make-certs.sh: the herd CA with Parker and
// Bolden, and another CA with its own Parker.
class LoadTlsMaterialTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const auto& [out, names] :
         {std::pair{"herd", "Parker Bolden"}, std::pair{"other", "Parker"}}) {
      const std::string command =
          fmt::format("'{}' '{}' {} >/dev/null", HERD_MAKE_CERTS,
                      (Dir() / out).string(), names);
      ASSERT_EQ(std::system(command.c_str()), 0) << command;
    }
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove_all(Dir(), ignored);
  }

  static v1::HerdConfig Config(const std::string& ca, const std::string& cert,
                               const std::string& key) {
    v1::HerdConfig config;
    config.mutable_tls()->set_ca_cert_path(ca);
    config.mutable_tls()->set_cert_path(cert);
    config.mutable_tls()->set_key_path(key);
    return config;
  }

  // One directory per test process, shared by the suite's tests.
  static const fs::path& Dir() {
    static const fs::path dir = fs::path(::testing::TempDir()) /
                                fmt::format("tls_files_test_{}", ::getpid());
    return dir;
  }
};

TEST_F(LoadTlsMaterialTest, LoadsTheServersOwnFiles) {
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(
      Config("herd/ca.crt", "herd/{name}.crt", "herd/{name}.key"), "Parker",
      Dir());
  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_THAT(material->ca_cert_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(material->cert_chain_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(material->private_key_pem, HasSubstr("PRIVATE KEY"));
}

TEST_F(LoadTlsMaterialTest, NoTlsSectionMentionsInsecure) {
  const absl::Status status =
      LoadTlsMaterial(v1::HerdConfig(), "Parker", Dir()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(StatusMessage(status),
              AllOf(HasSubstr("no tls section"), HasSubstr("--insecure")));
}

TEST_F(LoadTlsMaterialTest, MissingFileIsNamedWithItsField) {
  const absl::Status status =
      LoadTlsMaterial(
          Config("herd/ca.crt", "herd/{name}.crt", "herd/missing-{name}.key"),
          "Parker", Dir())
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(StatusMessage(status),
              AllOf(HasSubstr("tls.key_path"),
                    HasSubstr((Dir() / "herd/missing-Parker.key").string())));
}

TEST_F(LoadTlsMaterialTest, EmptyPathIsNamed) {
  const absl::Status status =
      LoadTlsMaterial(Config("herd/ca.crt", "", "herd/{name}.key"), "Parker",
                      Dir())
          .status();
  EXPECT_THAT(StatusMessage(status), HasSubstr("no tls.cert_path"));
}

// Files that exist but cannot work together: refused at start, naming why.
TEST_F(LoadTlsMaterialTest, UnusableFilesAreRefused) {
  struct Case {
    const char* ca;
    const char* cert;
    const char* key;
    const char* complaint;
  };
  const Case cases[] = {
      // A key where the CA certificate should be.
      {"herd/Parker.key", "herd/{name}.crt", "herd/{name}.key",
       "tls.ca_cert_path"},
      {"herd/Parker.key", "herd/{name}.crt", "herd/{name}.key",
       "not a PEM certificate"},
      {"herd/ca.crt", "herd/Parker.crt", "herd/Bolden.key",
       "is not the key of"},
      {"herd/ca.crt", "other/{name}.crt", "other/{name}.key",
       "does not verify against the herd CA"},
      {"herd/ca.crt", "herd/Bolden.crt", "herd/Bolden.key",
       "common name 'Bolden', not this server's name 'Parker'"},
  };
  for (const Case& c : cases) {
    const absl::Status status =
        LoadTlsMaterial(Config(c.ca, c.cert, c.key), "Parker", Dir()).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.complaint;
    EXPECT_THAT(StatusMessage(status), HasSubstr(c.complaint));
  }
}

}  // namespace
}  // namespace herd
