// UpdateQueue: batches in order, and newest-per-client once long.
#include "herdnode/mesh/update_queue.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_location.h"

namespace herd {
namespace {

using ::herd::testing::MakeLocation;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

std::vector<std::string> Take(UpdateQueue& queue, size_t max_batch) {
  google::protobuf::RepeatedPtrField<v1::Location> batch;
  const size_t taken = queue.TakeBatch(max_batch, &batch);
  std::vector<std::string> names;
  for (const v1::Location& location : batch) {
    names.push_back(location.client_id() + "@" + location.client_time_text());
  }
  EXPECT_EQ(taken, names.size());
  return names;
}

TEST(UpdateQueueTest, ShortQueueKeepsOrderAcrossBatches) {
  UpdateQueue queue(100);
  for (const char* time : {"1", "2", "3", "4", "5"}) {
    queue.Push(MakeLocation("x", time));
  }
  EXPECT_EQ(queue.size(), 5u);
  EXPECT_THAT(Take(queue, 2), ElementsAre("x@1", "x@2"));
  queue.Push(MakeLocation("y", "1"));
  EXPECT_THAT(Take(queue, 10), ElementsAre("x@3", "x@4", "x@5", "y@1"));
  EXPECT_TRUE(queue.empty());
  EXPECT_THAT(Take(queue, 10), ElementsAre());
}

TEST(UpdateQueueTest, LongQueueKeepsOnlyTheNewestPerClient) {
  UpdateQueue queue(1);
  queue.Push(MakeLocation("x", "1"));  // in order
  queue.Push(MakeLocation("x", "2"));  // coalesced from here on
  queue.Push(MakeLocation("x", "3"));
  queue.Push(MakeLocation("y", "1"));
  queue.Push(MakeLocation("x", "2.5"));  // older than the waiting x@3
  EXPECT_EQ(queue.size(), 3u);
  const std::vector<std::string> taken = Take(queue, 10);
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(taken[0], "x@1");
  EXPECT_THAT(std::vector<std::string>(taken.begin() + 1, taken.end()),
              UnorderedElementsAre("x@3", "y@1"));
  EXPECT_TRUE(queue.empty());
}

TEST(UpdateQueueTest, ReusedSlotsHoldExactlyTheNewUpdate) {
  UpdateQueue queue(100);
  google::protobuf::RepeatedPtrField<v1::Location> batch;
  v1::Location long_one = MakeLocation("a-rather-long-client-id", "1.5");
  long_one.set_origin_server("Hamilton");
  v1::Location short_one = MakeLocation("b", "2");
  short_one.clear_origin_server();
  short_one.clear_server_time();
  // Round after round, each update lands in a slot an earlier one used.
  for (int round = 0; round < 3; ++round) {
    queue.Push(long_one);
    queue.Push(long_one);
    ASSERT_EQ(queue.TakeBatch(10, &batch), 2u);
    EXPECT_EQ(batch[1].SerializeAsString(), long_one.SerializeAsString());
    queue.Push(short_one);
    ASSERT_EQ(queue.TakeBatch(10, &batch), 1u);
    EXPECT_EQ(batch[0].SerializeAsString(), short_one.SerializeAsString());
    EXPECT_FALSE(batch[0].has_server_time());
  }
}

TEST(UpdateQueueTest, ClearDropsEverything) {
  UpdateQueue queue(1);
  queue.Push(MakeLocation("x", "1"));
  queue.Push(MakeLocation("y", "1"));
  queue.Clear();
  EXPECT_TRUE(queue.empty());
  EXPECT_THAT(Take(queue, 10), ElementsAre());
}

}  // namespace
}  // namespace herd
