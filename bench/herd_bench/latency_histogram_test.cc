#include "bench/herd_bench/latency_histogram.h"

#include <chrono>

#include "gtest/gtest.h"

namespace herd::bench {
namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

TEST(LatencyHistogramTest, EmptyReportsZero) {
  const LatencyHistogram histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.Percentile(99), nanoseconds(0));
  EXPECT_EQ(histogram.Mean(), nanoseconds(0));
}

TEST(LatencyHistogramTest, PercentilesWithinOnePercent) {
  LatencyHistogram histogram;
  for (int i = 1; i <= 1000; ++i) histogram.Record(microseconds(i));
  EXPECT_EQ(histogram.count(), 1000u);
  EXPECT_NEAR(histogram.Percentile(50).count(), 500'000, 5'000);
  EXPECT_NEAR(histogram.Percentile(99).count(), 990'000, 9'900);
  EXPECT_EQ(histogram.Percentile(100), microseconds(1000));
  EXPECT_EQ(histogram.Max(), microseconds(1000));
  EXPECT_NEAR(histogram.Mean().count(), 500'500, 1);
}

TEST(LatencyHistogramTest, NeverReportsMoreThanTheSlowestSample) {
  LatencyHistogram histogram;
  histogram.Record(nanoseconds(1'000'001));
  EXPECT_EQ(histogram.Percentile(50), nanoseconds(1'000'001));
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram histogram;
  histogram.Record(nanoseconds(3));
  histogram.Record(nanoseconds(100));
  EXPECT_EQ(histogram.Percentile(50), nanoseconds(3));
  EXPECT_EQ(histogram.Percentile(100), nanoseconds(100));
}

TEST(LatencyHistogramTest, MergeAddsSamples) {
  LatencyHistogram fast;
  LatencyHistogram slow;
  for (int i = 0; i < 99; ++i) fast.Record(microseconds(10));
  slow.Record(std::chrono::seconds(2));
  fast.Merge(slow);
  EXPECT_EQ(fast.count(), 100u);
  EXPECT_NEAR(fast.Percentile(50).count(), 10'000, 100);
  EXPECT_EQ(fast.Percentile(100), std::chrono::seconds(2));
}

TEST(LatencyHistogramTest, NegativeLatencyCountsAsZero) {
  LatencyHistogram histogram;
  histogram.Record(nanoseconds(-5));
  EXPECT_EQ(histogram.Percentile(100), nanoseconds(0));
}

}  // namespace
}  // namespace herd::bench
