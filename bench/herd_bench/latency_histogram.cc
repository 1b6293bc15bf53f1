#include "bench/herd_bench/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace herd::bench {
namespace {

// Log-linear buckets: values below 2^kSubBucketBits are exact; above, each
// power of two is cut into 2^kSubBucketBits equal buckets, so a bucket is at
// most 1/128 (< 0.8 %) of the values it holds.
constexpr int kSubBucketBits = 7;
constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
constexpr size_t kBucketCount = kSubBuckets * (64 - kSubBucketBits + 1);

size_t BucketOf(uint64_t value) {
  if (value < kSubBuckets) return value;
  const int shift =
      static_cast<int>(std::bit_width(value)) - 1 - kSubBucketBits;
  const uint64_t sub = (value >> shift) - kSubBuckets;
  return kSubBuckets + static_cast<size_t>(shift) * kSubBuckets + sub;
}

// The largest value a bucket holds: percentiles err on the slow side.
uint64_t HighestValueOf(size_t bucket) {
  if (bucket < kSubBuckets) return bucket;
  const size_t shift = (bucket - kSubBuckets) / kSubBuckets;
  const uint64_t sub = (bucket - kSubBuckets) % kSubBuckets;
  const uint64_t lowest = (kSubBuckets + sub) << shift;
  return lowest + ((uint64_t{1} << shift) - 1);
}

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBucketCount, 0) {}

void LatencyHistogram::Record(std::chrono::nanoseconds latency) {
  const uint64_t value =
      latency.count() < 0 ? 0 : static_cast<uint64_t>(latency.count());
  ++counts_[BucketOf(value)];
  ++count_;
  max_ = std::max(max_, std::chrono::nanoseconds(value));
  sum_ns_ += static_cast<double>(value);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
  sum_ns_ += other.sum_ns_;
}

std::chrono::nanoseconds LatencyHistogram::Percentile(double percent) const {
  if (count_ == 0) return std::chrono::nanoseconds(0);
  const double clamped = std::clamp(percent, 0.0, 100.0);
  const auto rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(
             std::ceil(clamped / 100.0 * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // Never report more than the slowest sample actually seen.
      return std::min(max_, std::chrono::nanoseconds(
                                static_cast<int64_t>(HighestValueOf(i))));
    }
  }
  return max_;
}

std::chrono::nanoseconds LatencyHistogram::Mean() const {
  if (count_ == 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(
      static_cast<int64_t>(sum_ns_ / static_cast<double>(count_)));
}

}  // namespace herd::bench
