// The store keeps each client's newest report by exact client time and
// pages its entries by acceptance sequence for catch-up.
#include "herdnode/location_store.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_location.h"

namespace herd {
namespace {

using ::herd::testing::MakeLocation;
using ::testing::ElementsAre;

std::vector<std::string> ClientsOf(const StorePage& page) {
  std::vector<std::string> clients;
  for (const StoreEntry& entry : page.entries) {
    clients.push_back(entry.location.client_id());
  }
  return clients;
}

TEST(LocationStoreTest, FirstReportIsAccepted) {
  LocationStore store;
  EXPECT_FALSE(store.Get("kiwi").has_value());
  EXPECT_EQ(store.Offer(MakeLocation("kiwi", "1621464827.959498503")),
            v1::UPDATE_OUTCOME_ACCEPTED);
  std::optional<v1::Location> got = store.Get("kiwi");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->client_time_text(), "1621464827.959498503");
  EXPECT_EQ(store.size(), 1u);
}

TEST(LocationStoreTest, OneNanosecondNewerWins) {
  LocationStore store;
  ASSERT_EQ(store.Offer(MakeLocation("kiwi", "1621464827.959498503")),
            v1::UPDATE_OUTCOME_ACCEPTED);
  // The two stamps differ below a double's precision at this magnitude.
  EXPECT_EQ(store.Offer(MakeLocation("kiwi", "1621464827.959498504",
                                     "+1.000000+2.000000")),
            v1::UPDATE_OUTCOME_ACCEPTED);
  EXPECT_EQ(store.Get("kiwi")->coordinates_text(), "+1.000000+2.000000");
  EXPECT_EQ(store.Offer(MakeLocation("kiwi", "1621464827.959498503")),
            v1::UPDATE_OUTCOME_STALE);
  EXPECT_EQ(store.Get("kiwi")->client_time_text(), "1621464827.959498504");
}

TEST(LocationStoreTest, EqualStampIsDuplicateEvenWithOtherText) {
  LocationStore store;
  ASSERT_EQ(store.Offer(MakeLocation("kiwi", "5.5")),
            v1::UPDATE_OUTCOME_ACCEPTED);
  // Same instant written differently: still the same time stamp.
  EXPECT_EQ(store.Offer(MakeLocation("kiwi", "5.500000000", "+1+1")),
            v1::UPDATE_OUTCOME_DUPLICATE);
  EXPECT_EQ(store.Get("kiwi")->client_time_text(), "5.5");
}

TEST(LocationStoreTest, OlderIsStaleAndNegativeTimesOrder) {
  LocationStore store;
  ASSERT_EQ(store.Offer(MakeLocation("kiwi", "-1.5")),
            v1::UPDATE_OUTCOME_ACCEPTED);
  EXPECT_EQ(store.Offer(MakeLocation("kiwi", "-1.6")),
            v1::UPDATE_OUTCOME_STALE);
  EXPECT_EQ(store.Offer(MakeLocation("kiwi", "-1.4")),
            v1::UPDATE_OUTCOME_ACCEPTED);
}

TEST(LocationStoreTest, ClientsAreIndependent) {
  LocationStore store;
  EXPECT_EQ(store.Offer(MakeLocation("a", "10")), v1::UPDATE_OUTCOME_ACCEPTED);
  EXPECT_EQ(store.Offer(MakeLocation("b", "5")), v1::UPDATE_OUTCOME_ACCEPTED);
  EXPECT_EQ(store.size(), 2u);
}

TEST(LocationStoreTest, SequenceStartsAtOneAndIncreases) {
  LocationStore store;
  store.Offer(MakeLocation("a", "1"));
  store.Offer(MakeLocation("b", "1"));
  store.Offer(MakeLocation("b", "0"));  // stale: takes no sequence number
  store.Offer(MakeLocation("c", "1"));
  const StorePage page = store.EntriesAfter(0, 10);
  ASSERT_EQ(page.entries.size(), 3u);
  EXPECT_EQ(page.entries[0].seq, 1u);
  EXPECT_EQ(page.entries[1].seq, 2u);
  EXPECT_EQ(page.entries[2].seq, 3u);
  EXPECT_FALSE(page.more);
}

TEST(LocationStoreTest, PagesInSeqOrderWithReplacementMidPaging) {
  LocationStore store;
  for (const char* client : {"a", "b", "c", "d", "e"}) {
    store.Offer(MakeLocation(client, "1"));
  }
  StorePage page = store.EntriesAfter(0, 2);
  EXPECT_THAT(ClientsOf(page), ElementsAre("a", "b"));
  EXPECT_TRUE(page.more);
  uint64_t after = page.entries.back().seq;

  // "a" was already pulled; its newer version moves behind "e". "d" has not
  // been pulled yet and moves too, so it appears once, in its new place.
  store.Offer(MakeLocation("a", "2"));
  store.Offer(MakeLocation("d", "2"));

  page = store.EntriesAfter(after, 2);
  EXPECT_THAT(ClientsOf(page), ElementsAre("c", "e"));
  EXPECT_TRUE(page.more);
  after = page.entries.back().seq;

  page = store.EntriesAfter(after, 2);
  EXPECT_THAT(ClientsOf(page), ElementsAre("a", "d"));
  EXPECT_EQ(page.entries[0].location.client_time_text(), "2");
  EXPECT_EQ(page.entries[1].location.client_time_text(), "2");
  EXPECT_FALSE(page.more);
  EXPECT_LT(page.entries[0].seq, page.entries[1].seq);

  page = store.EntriesAfter(page.entries.back().seq, 2);
  EXPECT_TRUE(page.entries.empty());
  EXPECT_FALSE(page.more);
}

TEST(LocationStoreTest, ExactPageSizeHasNoMore) {
  LocationStore store;
  store.Offer(MakeLocation("a", "1"));
  store.Offer(MakeLocation("b", "1"));
  const StorePage page = store.EntriesAfter(0, 2);
  EXPECT_EQ(page.entries.size(), 2u);
  EXPECT_FALSE(page.more);
}

}  // namespace
}  // namespace herd
