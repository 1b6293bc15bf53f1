// The Google provider's answer cache, on a fake clock.
#include "herdnode/places/ttl_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace herd::places {
namespace {

class TtlCacheTest : public ::testing::Test {
 protected:
  absl::Time now_ = absl::FromUnixSeconds(1'000'000);
  TtlCache<int, std::string> cache_{absl::Seconds(60), 3,
                                    [this] { return now_; }};
};

TEST_F(TtlCacheTest, ServesWithinTheTtlOnly) {
  EXPECT_FALSE(cache_.Get(1).has_value());
  cache_.Put(1, "one");
  now_ += absl::Seconds(59);
  EXPECT_EQ(cache_.Get(1), "one");
  now_ += absl::Seconds(1);
  EXPECT_FALSE(cache_.Get(1).has_value());
  EXPECT_EQ(cache_.size(), 0u);
}

TEST_F(TtlCacheTest, PutRefreshesAnEntry) {
  cache_.Put(1, "old");
  now_ += absl::Seconds(50);
  cache_.Put(1, "new");
  now_ += absl::Seconds(50);
  EXPECT_EQ(cache_.Get(1), "new");
}

TEST_F(TtlCacheTest, StaysBoundedDroppingExpiredThenOldest) {
  cache_.Put(1, "a");
  now_ += absl::Seconds(10);
  cache_.Put(2, "b");
  now_ += absl::Seconds(10);
  cache_.Put(3, "c");
  cache_.Put(4, "d");  // full: 1 is the oldest
  EXPECT_EQ(cache_.size(), 3u);
  EXPECT_FALSE(cache_.Get(1).has_value());
  EXPECT_EQ(cache_.Get(2), "b");

  now_ += absl::Seconds(45);  // 2 has expired, 3 and 4 have not
  cache_.Put(5, "e");
  EXPECT_FALSE(cache_.Get(2).has_value());
  EXPECT_EQ(cache_.Get(3), "c");
  EXPECT_EQ(cache_.Get(4), "d");
  EXPECT_EQ(cache_.Get(5), "e");
}

}  // namespace
}  // namespace herd::places
