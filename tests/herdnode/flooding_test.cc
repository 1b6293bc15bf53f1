// The flooding decision with mock peers: accepted updates go to every peer
// but the sender, stale and duplicate ones go nowhere.
#include "herdnode/store/flooding.h"

#include <optional>
#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_location.h"

namespace herd {
namespace {

using ::herd::testing::MakeLocation;
using ::testing::_;
using ::testing::Property;

class MockPeerSink : public PeerSink {
 public:
  explicit MockPeerSink(std::string peer_name) : name_(std::move(peer_name)) {}
  std::string_view name() const override { return name_; }
  MOCK_METHOD(void, Send, (const v1::Location& location), (override));

 private:
  std::string name_;
};

class FloodingTest : public ::testing::Test {
 protected:
  FloodingTest() : flooder_(store_) {
    flooder_.SetPeers({alford_, bolden_, powell_});
  }

  LocationStore store_;
  Flooder flooder_;
  std::shared_ptr<MockPeerSink> alford_ =
      std::make_shared<MockPeerSink>("Alford");
  std::shared_ptr<MockPeerSink> bolden_ =
      std::make_shared<MockPeerSink>("Bolden");
  std::shared_ptr<MockPeerSink> powell_ =
      std::make_shared<MockPeerSink>("Powell");
};

TEST_F(FloodingTest, LocalReportGoesToEveryPeer) {
  const auto is_kiwi = Property(&v1::Location::client_id, "kiwi");
  EXPECT_CALL(*alford_, Send(is_kiwi));
  EXPECT_CALL(*bolden_, Send(is_kiwi));
  EXPECT_CALL(*powell_, Send(is_kiwi));
  EXPECT_EQ(flooder_.Flood(MakeLocation("kiwi", "10"), ""),
            v1::UPDATE_OUTCOME_ACCEPTED);
}

TEST_F(FloodingTest, AcceptedUpdateGoesToAllButSender) {
  EXPECT_CALL(*alford_, Send(_));
  EXPECT_CALL(*bolden_, Send(_)).Times(0);
  EXPECT_CALL(*powell_, Send(_));
  EXPECT_EQ(flooder_.Flood(MakeLocation("kiwi", "10"), "Bolden"),
            v1::UPDATE_OUTCOME_ACCEPTED);
  EXPECT_TRUE(store_.Get("kiwi").has_value());
}

TEST_F(FloodingTest, StaleAndDuplicateGoNowhere) {
  ASSERT_EQ(store_.Offer(MakeLocation("kiwi", "10")),
            v1::UPDATE_OUTCOME_ACCEPTED);
  EXPECT_CALL(*alford_, Send(_)).Times(0);
  EXPECT_CALL(*bolden_, Send(_)).Times(0);
  EXPECT_CALL(*powell_, Send(_)).Times(0);
  EXPECT_EQ(flooder_.Flood(MakeLocation("kiwi", "9.999999999"), "Alford"),
            v1::UPDATE_OUTCOME_STALE);
  EXPECT_EQ(flooder_.Flood(MakeLocation("kiwi", "10"), ""),
            v1::UPDATE_OUTCOME_DUPLICATE);
  const FloodCounters counters = flooder_.counters();
  EXPECT_EQ(counters.received, 2u);
  EXPECT_EQ(counters.accepted, 0u);
  EXPECT_EQ(counters.stale, 1u);
  EXPECT_EQ(counters.duplicate, 1u);
}

TEST_F(FloodingTest, CountersCountEachOutcome) {
  EXPECT_CALL(*alford_, Send(_)).Times(2);
  EXPECT_CALL(*bolden_, Send(_)).Times(2);
  EXPECT_CALL(*powell_, Send(_)).Times(1);
  flooder_.Flood(MakeLocation("kiwi", "1"), "");
  flooder_.Flood(MakeLocation("kiwi", "2"), "Powell");
  flooder_.Flood(MakeLocation("kiwi", "2"), "Alford");
  const FloodCounters counters = flooder_.counters();
  EXPECT_EQ(counters.received, 3u);
  EXPECT_EQ(counters.accepted, 2u);
  EXPECT_EQ(counters.duplicate, 1u);
  EXPECT_EQ(counters.stale, 0u);
}

// A journal whose appends are durable at once, or refused once failed:
// done runs inside Append, as the durable log's writer thread may run it
// before Append returns.
class InstantJournal : public UpdateJournal {
 public:
  void Append(const v1::Location& /*location*/, DurableDone done) override {
    ++appended;
    if (done) done(failure);
  }
  void AfterDurable(DurableDone done) override { done(failure); }
  size_t Backlog() const override { return 0; }
  absl::Status Failure() const override { return failure; }

  absl::Status failure;
  int appended = 0;
};

TEST_F(FloodingTest, PeersGetTheUpdateBeforeItsAcknowledgementMayReuseIt) {
  InstantJournal journal;
  flooder_.SetJournal(&journal);
  const auto is_kiwi = Property(&v1::Location::client_id, "kiwi");
  EXPECT_CALL(*alford_, Send(is_kiwi));
  EXPECT_CALL(*bolden_, Send(is_kiwi));
  EXPECT_CALL(*powell_, Send(is_kiwi));
  // What a ReportLocations result does once its update is answered: the
  // location it holds is cleared or reused.
  v1::Location location = MakeLocation("kiwi", "10");
  flooder_.Flood(location, "",
                 [&location](v1::UpdateOutcome outcome, absl::Status status) {
                   EXPECT_EQ(outcome, v1::UPDATE_OUTCOME_ACCEPTED);
                   EXPECT_TRUE(status.ok());
                   location.set_client_id("reused");
                 });
  EXPECT_EQ(journal.appended, 1);
}

TEST_F(FloodingTest, AFailedJournalRefusesBeforeTheStore) {
  InstantJournal journal;
  journal.failure = absl::UnavailableError("cannot write log: disk full");
  flooder_.SetJournal(&journal);
  EXPECT_CALL(*alford_, Send(_)).Times(0);
  EXPECT_CALL(*bolden_, Send(_)).Times(0);
  EXPECT_CALL(*powell_, Send(_)).Times(0);
  std::optional<std::pair<v1::UpdateOutcome, absl::Status>> answer;
  flooder_.Flood(MakeLocation("kiwi", "10"), "",
                 [&answer](v1::UpdateOutcome outcome, absl::Status status) {
                   answer.emplace(outcome, std::move(status));
                 });
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->first, v1::UPDATE_OUTCOME_UNSPECIFIED);
  EXPECT_EQ(answer->second, journal.failure);
  EXPECT_EQ(flooder_.Flood(MakeLocation("lime", "1"), "Alford"),
            v1::UPDATE_OUTCOME_UNSPECIFIED);
  EXPECT_FALSE(store_.Get("kiwi").has_value());
  EXPECT_FALSE(store_.Get("lime").has_value());
  EXPECT_EQ(journal.appended, 0);
  EXPECT_EQ(flooder_.AwaitDurable(), journal.failure);
  EXPECT_EQ(flooder_.JournalFailure(), journal.failure);
}

}  // namespace
}  // namespace herd
