#include "bench/herd_bench/reply_check.h"

#include "gtest/gtest.h"

namespace herd::bench {
namespace {

constexpr char kClient[] = "kiwi.cs.ucla.edu";
constexpr char kCoordinates[] = "+34.068930-118.445127";
constexpr char kTime[] = "1621464827.959498503";
constexpr char kAtLine[] =
    "AT Hamilton +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 "
    "1621464827.959498503";
constexpr char kEmptyPlaces[] =
    R"({"html_attributions":[],"results":[],"status":"ZERO_RESULTS"})";

ReplyVerdict CheckIamat(std::string_view line) {
  return CheckIamatReply(line, kClient, kCoordinates, kTime, absl::Seconds(60));
}

TEST(CheckIamatReplyTest, AcceptsTheProtocolExample) {
  EXPECT_TRUE(CheckIamat(kAtLine).ok()) << CheckIamat(kAtLine).detail;
}

TEST(CheckIamatReplyTest, AcceptsANegativeDifference) {
  EXPECT_TRUE(CheckIamat("AT Bolden -1.000000000 kiwi.cs.ucla.edu "
                         "+34.068930-118.445127 1621464827.959498503")
                  .ok());
}

TEST(CheckIamatReplyTest, QuestionMarkIsItsOwnKind) {
  const ReplyVerdict verdict = CheckIamat(
      "? IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503");
  EXPECT_EQ(verdict.error, ReplyError::kQuestionMark);
}

TEST(CheckIamatReplyTest, RejectsFieldsNotEchoedVerbatim) {
  // The server normalised the coordinates: not allowed.
  const ReplyVerdict verdict = CheckIamat(
      "AT Hamilton +0.263873386 kiwi.cs.ucla.edu "
      "+34.06893-118.445127 1621464827.959498503");
  EXPECT_EQ(verdict.error, ReplyError::kMismatch);
  EXPECT_NE(verdict.detail.find("does not echo"), std::string::npos);
}

TEST(CheckIamatReplyTest, RejectsMalformedLines) {
  for (const char* line : {
           "AT Hamilton 0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 "
           "1621464827.959498503",  // no sign on the difference
           "AT Hamilton +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127",
           "AT Hamilton  +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 "
           "1621464827.959498503",  // two spaces
           "AT Hamilton +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 "
           "1621464827.959498503 extra",
           "",
       }) {
    EXPECT_EQ(CheckIamat(line).error, ReplyError::kMalformed) << line;
  }
}

TEST(CheckIamatReplyTest, RejectsADifferenceBeyondTheSkew) {
  const ReplyVerdict verdict = CheckIamat(
      "AT Hamilton +3600.000000000 kiwi.cs.ucla.edu "
      "+34.068930-118.445127 1621464827.959498503");
  EXPECT_EQ(verdict.error, ReplyError::kMismatch);
}

TEST(AtLineServerTest, NamesTheServer) {
  EXPECT_EQ(AtLineServer(kAtLine), "Hamilton");
  EXPECT_EQ(AtLineServer("? nonsense"), "");
}

TEST(CheckWhatsatReplyTest, AcceptsTheBaselineReply) {
  const ReplyVerdict verdict =
      CheckWhatsatReply(kAtLine, kEmptyPlaces, kAtLine, 5);
  EXPECT_TRUE(verdict.ok()) << verdict.detail;
}

TEST(CheckWhatsatReplyTest, RejectsAnotherAtLine) {
  EXPECT_EQ(CheckWhatsatReply("AT Bolden +0.263873386 kiwi.cs.ucla.edu "
                              "+34.068930-118.445127 1621464827.959498503",
                              kEmptyPlaces, kAtLine, 5)
                .error,
            ReplyError::kMismatch);
}

TEST(CheckWhatsatReplyTest, RejectsBrokenJson) {
  EXPECT_EQ(CheckWhatsatReply(kAtLine, R"({"results":[)", kAtLine, 5).error,
            ReplyError::kMalformed);
  EXPECT_EQ(CheckWhatsatReply(kAtLine, R"({"status":"OK"})", kAtLine, 5).error,
            ReplyError::kMalformed);
  EXPECT_EQ(CheckWhatsatReply(kAtLine, "", kAtLine, 5).error,
            ReplyError::kMalformed);
}

TEST(CheckWhatsatReplyTest, RejectsTooManyPlaces) {
  EXPECT_EQ(CheckWhatsatReply(
                kAtLine, R"({"results":[{},{},{}],"status":"OK"})", kAtLine, 2)
                .error,
            ReplyError::kMismatch);
}

TEST(CheckWhatsatReplyTest, QuestionMarkIsItsOwnKind) {
  EXPECT_EQ(CheckWhatsatReply("? WHATSAT kiwi.cs.ucla.edu 10 5", "", kAtLine, 5)
                .error,
            ReplyError::kQuestionMark);
}

}  // namespace
}  // namespace herd::bench
