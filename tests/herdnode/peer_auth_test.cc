#include "herdnode/mesh/peer_auth.h"

#include "common/status_text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd {
namespace {

using ::testing::HasSubstr;

CallerIdentity Verified(std::string common_name) {
  return CallerIdentity{.verified = true,
                        .common_name = std::move(common_name)};
}

TEST(AuthorizePeerCallTest, MutualTlsAcceptsALinkedPeerSpeakingForItself) {
  EXPECT_TRUE(AuthorizePeerCall(PeerListener::kMutualTls, Verified("Parker"),
                                "Parker", /*claimed_is_linked=*/true)
                  .ok());
}

TEST(AuthorizePeerCallTest, MutualTlsRefusesACallerWithoutCertificate) {
  const absl::Status status = AuthorizePeerCall(
      PeerListener::kMutualTls, CallerIdentity{}, "Parker", true);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(StatusMessage(status),
              HasSubstr("no verified client certificate"));
}

TEST(AuthorizePeerCallTest, MutualTlsRefusesACertificateSpeakingForAnother) {
  const absl::Status status = AuthorizePeerCall(
      PeerListener::kMutualTls, Verified("Parker"), "Bolden", true);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(StatusMessage(status),
              HasSubstr("certificate CN 'Parker' does not match from_server "
                        "'Bolden'"));
}

TEST(AuthorizePeerCallTest, MutualTlsRefusesAGenuineButUnlinkedServer) {
  const absl::Status status = AuthorizePeerCall(
      PeerListener::kMutualTls, Verified("Bolden"), "Bolden", false);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(StatusMessage(status),
              HasSubstr("certificate CN 'Bolden' is not a linked peer"));
}

TEST(AuthorizePeerCallTest, MutualTlsRefusesAnEmptyClaimEvenWithEmptyName) {
  // A certificate without a CN is never "verified"; an empty claim is the
  // gateway's relay, which is not decided here.
  EXPECT_FALSE(
      AuthorizePeerCall(PeerListener::kMutualTls, CallerIdentity{}, "", true)
          .ok());
}

TEST(AuthorizePeerCallTest, InsecureTrustsTheClaimOfALinkedPeer) {
  EXPECT_TRUE(AuthorizePeerCall(PeerListener::kInsecure, CallerIdentity{},
                                "Parker", true)
                  .ok());
  const absl::Status status = AuthorizePeerCall(PeerListener::kInsecure,
                                                CallerIdentity{}, "Zed", false);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(StatusMessage(status), HasSubstr("'Zed' is not a linked peer"));
}

TEST(AuthorizePeerCallTest, OperatorListenerRefusesEveryone) {
  for (const CallerIdentity& caller : {CallerIdentity{}, Verified("Parker")}) {
    const absl::Status status =
        AuthorizePeerCall(PeerListener::kOperator, caller, "Parker", true);
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(StatusMessage(status), HasSubstr("operator listener"));
  }
}

}  // namespace
}  // namespace herd
