#include "bench/herd_bench/workload.h"

#include <cmath>
#include <set>
#include <string>

#include "common/location_text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::bench {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ParseMixTest, ReadsWeights) {
  const auto mix = ParseMix("80:20");
  ASSERT_TRUE(mix.ok()) << mix.status();
  EXPECT_EQ(mix->iamat, 80u);
  EXPECT_EQ(mix->whatsat, 20u);
}

TEST(ParseMixTest, RejectsNonsenseWithAClearError) {
  for (const char* text : {"", "80", "80:", ":20", "0:1", "a:b", "80:20:1"}) {
    const auto mix = ParseMix(text);
    EXPECT_FALSE(mix.ok()) << text;
    EXPECT_THAT(static_cast<std::string>(mix.status().message()),
                HasSubstr("--mix"))
        << text;
  }
}

TEST(FormatTest, CoordinatesAndTimeAreWhatTheProtocolParses) {
  EXPECT_EQ(FormatCoordinates(34.06893, -118.445127), "+34.068930-118.445127");
  EXPECT_EQ(FormatClientTime(1621464827'959498503), "1621464827.959498503");
  EXPECT_EQ(FormatClientTime(5), "0.000000005");
  EXPECT_TRUE(ParseCoordinates(FormatCoordinates(-90, 180)).ok());
  const auto time = ParseClientTime(FormatClientTime(1621464827'000000001));
  ASSERT_TRUE(time.ok());
  EXPECT_EQ(time->nanos(), 1);
}

TEST(StrictlyIncreasingClockTest, NeverRepeats) {
  StrictlyIncreasingClock clock;
  int64_t last = clock.Now();
  for (int i = 0; i < 10000; ++i) {
    const int64_t now = clock.Now();
    ASSERT_GT(now, last);
    last = now;
  }
}

TEST(ConnectionWorkloadTest, IamatsCoverDistinctClientsRoundRobin) {
  ConnectionWorkload workload("run.c0", 3, Mix{1, 0}, 7);
  std::set<std::string> clients;
  for (int i = 0; i < 3; ++i) {
    const Request request = workload.Next();
    EXPECT_EQ(request.kind, Request::Kind::kIamat);
    EXPECT_THAT(request.line, StartsWith("IAMAT run.c0."));
    EXPECT_EQ(request.line, "IAMAT " + request.client_id + " " +
                                request.coordinates + " " +
                                request.client_time + "\n");
    EXPECT_TRUE(ParseCoordinates(request.coordinates).ok());
    clients.insert(request.client_id);
  }
  EXPECT_EQ(clients.size(), 3u);
  EXPECT_EQ(workload.Next().client_id, "run.c0.0");
}

TEST(ConnectionWorkloadTest, WhatsatOnlyAsksAboutConfirmedClients) {
  ConnectionWorkload workload("run.c1", 100, Mix{1, 1000}, 7);
  // Nothing confirmed yet: even a WHATSAT-heavy mix must report first.
  const Request first = workload.Next();
  ASSERT_EQ(first.kind, Request::Kind::kIamat);
  EXPECT_EQ(workload.Next().kind, Request::Kind::kIamat);  // first in flight
  workload.Confirmed(first, "AT X +0.000000001 " + first.client_id + " c t");
  bool asked = false;
  for (int i = 0; i < 50 && !asked; ++i) {
    const Request request = workload.Next();
    if (request.kind == Request::Kind::kWhatsat) {
      EXPECT_EQ(request.client_id, first.client_id);
      EXPECT_EQ(request.expected_at_line,
                "AT X +0.000000001 " + first.client_id + " c t");
      EXPECT_EQ(request.line, "WHATSAT " + first.client_id + " 10 5\n");
      asked = true;
    }
  }
  EXPECT_TRUE(asked);
}

TEST(ConnectionWorkloadTest, ShapeSetsTheQuestionAndThePlaces) {
  WorkloadShape shape;
  shape.whatsat_radius_km = 50;
  shape.whatsat_max_results = 20;
  shape.near_cities = true;
  ConnectionWorkload workload("run.c3", 1, Mix{1, 1000}, 7, shape);
  const Request report = workload.Next();
  const auto coordinates = ParseCoordinates(report.coordinates);
  ASSERT_TRUE(coordinates.ok()) << report.coordinates;
  // Near Tokyo, ..., Los Angeles: never in the open ocean at 0, 0.
  EXPECT_GT(std::abs(coordinates->latitude) + std::abs(coordinates->longitude),
            10.0);
  workload.Confirmed(report, "AT X +0.000000001 run.c3.0 c t");
  Request question;
  for (int i = 0; i < 50 && question.client_id.empty(); ++i) {
    Request request = workload.Next();
    if (request.kind == Request::Kind::kWhatsat) question = std::move(request);
  }
  EXPECT_EQ(question.line, "WHATSAT run.c3.0 50 20\n");
  EXPECT_EQ(question.max_results, 20);
}

TEST(ConnectionWorkloadTest, AFailedReportIsNotAskedAbout) {
  ConnectionWorkload workload("run.c2", 1, Mix{1, 1}, 7);
  const Request report = workload.Next();
  workload.Confirmed(report, "AT X +0.000000001 run.c2.0 c t");
  Request newer;
  for (int i = 0; i < 200 && newer.client_id.empty(); ++i) {
    Request request = workload.Next();
    if (request.kind == Request::Kind::kIamat) newer = std::move(request);
  }
  ASSERT_FALSE(newer.client_id.empty());
  workload.Failed(newer);
  // The herd may hold either report now, so the old AT line is no answer to
  // expect: report again before asking.
  for (int i = 0; i < 20; ++i) {
    const Request request = workload.Next();
    ASSERT_EQ(request.kind, Request::Kind::kIamat);
    workload.Failed(request);
  }
}

}  // namespace
}  // namespace herd::bench
