// A mergeable latency histogram with bounded relative error, so percentiles
// of millions of replies cost a few kilobytes instead of a sorted vector.
#ifndef HERD_BENCH_HERD_BENCH_LATENCY_HISTOGRAM_H_
#define HERD_BENCH_HERD_BENCH_LATENCY_HISTOGRAM_H_

#include <chrono>
#include <cstdint>
#include <vector>

namespace herd::bench {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void Record(std::chrono::nanoseconds latency);
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  // The smallest recorded-bucket value v such that at least `percent` % of
  // the samples are <= v (within the bucket's 1/128 relative width). Zero
  // when empty.
  std::chrono::nanoseconds Percentile(double percent) const;
  std::chrono::nanoseconds Max() const { return max_; }
  std::chrono::nanoseconds Mean() const;

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  std::chrono::nanoseconds max_{0};
  // Sum of samples in nanoseconds as a double: exact enough for a mean and
  // immune to overflow.
  double sum_ns_ = 0;
};

}  // namespace herd::bench

#endif  // HERD_BENCH_HERD_BENCH_LATENCY_HISTOGRAM_H_
