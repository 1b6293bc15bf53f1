#include "bench/herd_bench/run_stats.h"

#include <algorithm>
#include <utility>

namespace herd::bench {

void ErrorCounts::Add(std::string_view kind, std::string detail) {
  ++total_;
  ++by_kind_[std::string(kind)];
  if (examples_.size() < kMaxExamples) examples_.push_back(std::move(detail));
}

void ErrorCounts::Merge(const ErrorCounts& other) {
  total_ += other.total_;
  for (const auto& [kind, count] : other.by_kind_) by_kind_[kind] += count;
  for (const auto& example : other.examples_) {
    if (examples_.size() >= kMaxExamples) break;
    examples_.push_back(example);
  }
}

void LoadStats::Merge(const LoadStats& other) {
  iamat_ok += other.iamat_ok;
  whatsat_ok += other.whatsat_ok;
  whatsat_places += other.whatsat_places;
  all.Merge(other.all);
  iamat.Merge(other.iamat);
  whatsat.Merge(other.whatsat);
  errors.Merge(other.errors);
  finished = std::max(finished, other.finished);
}

}  // namespace herd::bench
