// The store keeps each client's newest report by exact client time and
// pages its entries by acceptance sequence for catch-up.
#include "herdnode/store/location_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "herdnode/store/seq_index.h"
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

// The same message: every text byte for byte, every number bit for bit
// (NaN and -0.0 included), and the same Instants set.
bool Identical(const v1::Location& a, const v1::Location& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

// Get and EntriesAfter give back exactly what was offered.
void ExpectRoundTrip(const v1::Location& location) {
  LocationStore store;
  ASSERT_EQ(store.Offer(location), v1::UPDATE_OUTCOME_ACCEPTED);
  std::optional<v1::Location> got = store.Get(location.client_id());
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(Identical(*got, location)) << "offered:\n"
                                         << location.DebugString() << "got:\n"
                                         << got->DebugString();
  const StorePage page = store.EntriesAfter(0, 10);
  ASSERT_EQ(page.entries.size(), 1u);
  EXPECT_TRUE(Identical(page.entries[0].location, location));
}

TEST(LocationStoreTest, EveryFieldRoundTripsVerbatim) {
  ExpectRoundTrip(MakeLocation("kiwi.cs.ucla.edu", "1621464827.959498503"));
  // Odd and even lengths of the digit-only texts, which are packed.
  ExpectRoundTrip(MakeLocation("a", "1", "+0+0"));
  ExpectRoundTrip(MakeLocation("b", "12", "-90.000000+180.0"));
  ExpectRoundTrip(MakeLocation("c", "-0.000000001", "-0.0-0.0"));
  ExpectRoundTrip(MakeLocation("d", "000000000000000001.100000000",
                               "+00000034.068930000-118.445127"));
  // Long IDs take more than one length byte; any bytes are kept.
  ExpectRoundTrip(MakeLocation(std::string(300, 'x'), "5"));
  ExpectRoundTrip(MakeLocation("kiwi\xc3\xa9\xe6\x97\xa5", "5"));
}

TEST(LocationStoreTest, UncheckedFieldsRoundTripToo) {
  // The store does not validate (its callers do), but it must never alter:
  // texts outside the packed alphabet, numbers that disagree with their
  // texts, extreme values, empty strings and unset Instants.
  v1::Location odd;
  odd.set_client_id(std::string("nul\0inside", 10));
  odd.set_coordinates_text("+34.1e5 north");
  odd.set_client_time_text("1e9");
  odd.set_latitude(std::numeric_limits<double>::lowest());
  odd.set_longitude(-0.0);
  odd.mutable_client_time()->set_seconds(std::numeric_limits<int64_t>::min());
  odd.mutable_client_time()->set_nanos(-1);
  odd.set_origin_server("");
  ExpectRoundTrip(odd);

  v1::Location bare;
  bare.set_client_id("bare");
  ExpectRoundTrip(bare);  // no Instants at all: still none on the way out

  v1::Location max = MakeLocation("max", "1");
  max.mutable_server_time()->set_seconds(std::numeric_limits<int64_t>::max());
  max.mutable_server_time()->set_nanos(999'999'999);
  max.set_latitude(std::numeric_limits<double>::quiet_NaN());
  ExpectRoundTrip(max);
}

TEST(LocationStoreTest, ManyOriginServersKeepTheirNames) {
  // More distinct origins than the store interns: the rest are kept with
  // their records, and each client still reports its own.
  LocationStore store;
  constexpr int kServers = 1500;
  for (int i = 0; i < kServers; ++i) {
    ASSERT_EQ(store.Offer(MakeLocation(absl::StrCat("c", i), "1", "+1.0+2.0",
                                       absl::StrCat("S", i))),
              v1::UPDATE_OUTCOME_ACCEPTED);
  }
  for (int i = 0; i < kServers; ++i) {
    EXPECT_EQ(store.Get(absl::StrCat("c", i))->origin_server(),
              absl::StrCat("S", i));
  }
  // A replacement may switch a client between interned and inline names.
  ASSERT_EQ(store.Offer(MakeLocation("c1400", "2", "+1.0+2.0", "S0")),
            v1::UPDATE_OUTCOME_ACCEPTED);
  ASSERT_EQ(store.Offer(MakeLocation("c0", "2", "+1.0+2.0", "S1400")),
            v1::UPDATE_OUTCOME_ACCEPTED);
  EXPECT_EQ(store.Get("c1400")->origin_server(), "S0");
  EXPECT_EQ(store.Get("c0")->origin_server(), "S1400");
}

TEST(LocationStoreTest, NewestWinsByExactInstant) {
  struct Report {
    const char* time;
    const char* coordinates;
    v1::UpdateOutcome outcome;
  };
  const Report reports[] = {
      {"2.000000000", "+1+1", v1::UPDATE_OUTCOME_ACCEPTED},
      // Seconds decide before nanoseconds.
      {"1.999999999", "+1+1", v1::UPDATE_OUTCOME_STALE},
      // The same instant in other words, and with other coordinates.
      {"2", "+1+1", v1::UPDATE_OUTCOME_DUPLICATE},
      {"2.0", "+5+5", v1::UPDATE_OUTCOME_DUPLICATE},
      {"2.000000001", "+5+5", v1::UPDATE_OUTCOME_ACCEPTED},
      {"2.000000001", "+1+1", v1::UPDATE_OUTCOME_DUPLICATE},
      {"2.000000000", "+1+1", v1::UPDATE_OUTCOME_STALE},
      {"2.000000002", "+6+6", v1::UPDATE_OUTCOME_ACCEPTED},
      {"3", "+7+7", v1::UPDATE_OUTCOME_ACCEPTED},
  };
  LocationStore store;
  for (const Report& report : reports) {
    EXPECT_EQ(
        store.Offer(MakeLocation("kiwi", report.time, report.coordinates)),
        report.outcome)
        << report.time;
  }
  EXPECT_EQ(store.Get("kiwi")->client_time_text(), "3");
  EXPECT_EQ(store.Get("kiwi")->coordinates_text(), "+7+7");
  // Duplicates and stale reports take no sequence number.
  EXPECT_EQ(store.last_seq(), 4u);
}

TEST(LocationStoreTest, GrowingAndShrinkingReportsKeepTheIndexRight) {
  // A longer report than a client's block holds moves the record; the
  // index entry for its old place must not be used again (ASan checks).
  LocationStore store;
  store.Offer(MakeLocation("a", "1", "+1+1"));
  store.Offer(MakeLocation("b", "1"));
  const std::string long_coordinates =
      "+1." + std::string(200, '1') + "+2." + std::string(200, '2');
  ASSERT_EQ(store.Offer(MakeLocation("a", "2", long_coordinates)),
            v1::UPDATE_OUTCOME_ACCEPTED);
  ASSERT_EQ(store.Offer(MakeLocation("a", "3", "+3+3")),
            v1::UPDATE_OUTCOME_ACCEPTED);
  ASSERT_EQ(store.Offer(MakeLocation("a", "4", long_coordinates + "0")),
            v1::UPDATE_OUTCOME_ACCEPTED);
  const StorePage page = store.EntriesAfter(0, 10);
  EXPECT_THAT(ClientsOf(page), ElementsAre("b", "a"));
  EXPECT_EQ(page.entries[1].location.coordinates_text(),
            long_coordinates + "0");
  EXPECT_EQ(page.entries[1].seq, 5u);
}

TEST(LocationStoreTest, EmptyPageSaysWhetherThereIsMore) {
  LocationStore store;
  EXPECT_FALSE(store.EntriesAfter(0, 0).more);
  store.Offer(MakeLocation("a", "1"));
  const StorePage page = store.EntriesAfter(0, 0);
  EXPECT_TRUE(page.entries.empty());
  EXPECT_TRUE(page.more);
  EXPECT_FALSE(store.EntriesAfter(1, 0).more);
}

// Pages through the whole store: every client exactly once, seq increasing.
std::map<std::string, v1::Location> PageAll(const LocationStore& store,
                                            size_t page_size) {
  std::map<std::string, v1::Location> seen;
  uint64_t after = 0;
  for (bool more = true; more;) {
    StorePage page = store.EntriesAfter(after, page_size);
    more = page.more;
    for (StoreEntry& entry : page.entries) {
      EXPECT_GT(entry.seq, after);
      after = entry.seq;
      const std::string client = entry.location.client_id();
      EXPECT_TRUE(seen.emplace(client, std::move(entry.location)).second)
          << client << " paged twice";
    }
  }
  return seen;
}

TEST(LocationStoreTest, ManyClientsPageOnceEachAfterEveryReplacement) {
  constexpr int kClients = 50'000;
  LocationStore store;
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(store.Offer(MakeLocation(absl::StrCat("client-", i), "100")),
              v1::UPDATE_OUTCOME_ACCEPTED);
  }
  EXPECT_EQ(store.size(), static_cast<size_t>(kClients));
  EXPECT_EQ(PageAll(store, 997).size(), static_cast<size_t>(kClients));
  // Three rounds of replacements leave dead index entries behind (more than
  // there are clients, so they are dropped in between).
  for (int round = 1; round <= 3; ++round) {
    for (int i = 0; i < kClients; i += round) {
      ASSERT_EQ(store.Offer(MakeLocation(absl::StrCat("client-", i),
                                         absl::StrCat(100 + round))),
                v1::UPDATE_OUTCOME_ACCEPTED);
    }
  }
  EXPECT_EQ(store.size(), static_cast<size_t>(kClients));
  const std::map<std::string, v1::Location> seen = PageAll(store, 1000);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kClients));
  for (int i = 0; i < kClients; ++i) {
    const int newest = i % 3 == 0 ? 103 : i % 2 == 0 ? 102 : 101;
    const std::string client = absl::StrCat("client-", i);
    ASSERT_EQ(seen.at(client).client_time_text(), absl::StrCat(newest))
        << client;
    ASSERT_TRUE(Identical(seen.at(client), *store.Get(client)));
  }
}

TEST(LocationStoreTest, PullerGetsNewestVersionsWhileWritersReplace) {
  // A puller pages with one cursor while two writers keep replacing
  // clients (some with longer texts, so records move). Once the writers
  // stop and the puller reaches the end, the newest version it got of each
  // client must be the store's: replaced entries move to a higher seq.
  constexpr int kClients = 500;
  constexpr int kRounds = 40;
  LocationStore store;
  for (int i = 0; i < kClients; ++i) {
    store.Offer(MakeLocation(absl::StrCat("c", i), "1"));
  }
  std::atomic<int> writers_left = 2;
  auto write = [&](int first) {
    for (int round = 2; round <= kRounds; ++round) {
      for (int i = first; i < kClients; i += 2) {
        const std::string coordinates =
            round % 7 == 0 ? "+1." + std::string(round, '5') + "+2.5"
                           : "+1.5+2.5";
        store.Offer(MakeLocation(absl::StrCat("c", i), absl::StrCat(round),
                                 coordinates));
      }
    }
    writers_left.fetch_sub(1);
  };
  std::map<std::string, v1::Location> newest;
  uint64_t after = 0;
  auto pull_until_end = [&] {
    for (bool more = true; more;) {
      StorePage page = store.EntriesAfter(after, 37);
      more = page.more;
      for (StoreEntry& entry : page.entries) {
        ASSERT_GT(entry.seq, after);
        after = entry.seq;
        // Each entry is whole: its texts and numbers belong together.
        ASSERT_TRUE(std::is_eq(
            CompareInstants(*ParseClientTime(entry.location.client_time_text()),
                            entry.location.client_time())));
        ASSERT_EQ(ParseCoordinates(entry.location.coordinates_text())->latitude,
                  entry.location.latitude());
        newest[entry.location.client_id()] = std::move(entry.location);
      }
    }
  };
  {
    std::jthread even(write, 0);
    std::jthread odd(write, 1);
    // Bounded: the writers finish after kClients * kRounds offers.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (writers_left.load() > 0 &&
           std::chrono::steady_clock::now() < deadline) {
      pull_until_end();
    }
  }
  ASSERT_EQ(writers_left.load(), 0) << "writers did not finish in time";
  pull_until_end();
  ASSERT_EQ(newest.size(), static_cast<size_t>(kClients));
  for (const auto& [client, location] : newest) {
    EXPECT_EQ(location.client_time_text(), absl::StrCat(kRounds)) << client;
    EXPECT_TRUE(Identical(location, *store.Get(client)));
  }
  EXPECT_EQ(store.last_seq(),
            static_cast<uint64_t>(kClients) * static_cast<uint64_t>(kRounds));
}

// ---- SeqIndex: the store's acceptance order ----

// Every (seq, record) the index holds after `after`, in order.
std::vector<std::pair<uint64_t, const std::byte*>> Visited(
    const SeqIndex& index, uint64_t after) {
  std::vector<SeqIndex::Entry> entries;
  EXPECT_FALSE(index.After(after, std::numeric_limits<size_t>::max(), entries));
  std::vector<std::pair<uint64_t, const std::byte*>> seen;
  seen.reserve(entries.size());
  for (const SeqIndex::Entry& entry : entries) {
    seen.emplace_back(entry.seq, entry.record);
  }
  return seen;
}

TEST(SeqIndexTest, VisitsWhatIsLeftInOrderAcrossChunks) {
  // 10,000 entries span three chunks; every third one is removed, then
  // every sixth of the rest, so chunks compact and merge.
  std::vector<std::byte> records(10'000);
  SeqIndex index;
  std::map<uint64_t, const std::byte*> expected;
  for (uint64_t seq = 1; seq <= records.size(); ++seq) {
    index.Append(seq, &records[seq - 1]);
    expected[seq] = &records[seq - 1];
  }
  for (uint64_t seq = 3; seq <= records.size(); seq += 3) {
    index.Remove(seq);
    expected.erase(seq);
  }
  for (uint64_t seq = 2; seq <= records.size(); seq += 6) {
    index.Remove(seq);
    expected.erase(seq);
  }
  index.Remove(3);          // removed before: nothing happens
  index.Remove(1'000'000);  // never there: nothing happens
  for (uint64_t after : {0, 1, 2, 4095, 4096, 4097, 9999, 10'000, 50'000}) {
    std::vector<std::pair<uint64_t, const std::byte*>> want(
        expected.upper_bound(after), expected.end());
    EXPECT_EQ(Visited(index, after), want) << "after " << after;
  }
}

TEST(SeqIndexTest, StopsAtMaxAndSaysWhetherMoreFollow) {
  std::vector<std::byte> records(1);
  SeqIndex index;
  for (uint64_t seq = 1; seq <= 5; ++seq) index.Append(seq * 10, &records[0]);
  index.Remove(50);
  std::vector<SeqIndex::Entry> entries;
  EXPECT_TRUE(index.After(15, 2, entries));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].seq, 20u);
  EXPECT_EQ(entries[1].seq, 30u);
  entries.clear();
  // Only a removed entry is left after the page: no more.
  EXPECT_FALSE(index.After(15, 3, entries));
  EXPECT_EQ(entries.size(), 3u);
}

TEST(SeqIndexTest, ChurnKeepsTheIndexSmall) {
  // A store's pattern: 5,000 clients each accepted again and again, in an
  // order that leaves removed entries scattered over every chunk.
  constexpr uint64_t kClients = 5'000;
  std::vector<std::byte> records(kClients);
  std::vector<uint64_t> current(kClients);
  SeqIndex index;
  uint64_t next_seq = 1;
  for (uint64_t round = 0; round < 40; ++round) {
    for (uint64_t i = 0; i < kClients; ++i) {
      const uint64_t client = (i * 7919 + round * 104'729) % kClients;
      if (current[client] != 0) index.Remove(current[client]);
      current[client] = next_seq++;
      index.Append(current[client], &records[client]);
    }
    // Removed entries never make up more than about half the index.
    ASSERT_LE(index.held(), 2 * kClients + 4096) << "round " << round;
  }
  const auto seen = Visited(index, 0);
  ASSERT_EQ(seen.size(), kClients);
  for (const auto& [seq, record] : seen) {
    EXPECT_EQ(current[static_cast<size_t>(record - records.data())], seq);
  }
  // Removing everything leaves nothing behind.
  for (uint64_t seq : current) index.Remove(seq);
  EXPECT_EQ(index.held(), 0u);
  EXPECT_TRUE(Visited(index, 0).empty());
}

}  // namespace
}  // namespace herd
