// The default worker placement: a channel stays on its worker until its room empties, and
// new channels go to the least loaded worker.
#include "sfu/worker_placement.hpp"

#include <gtest/gtest.h>

using hype::sfu::LeastLoadedPlacement;

TEST(WorkerPlacement, AChannelStaysOnItsWorker) {
  LeastLoadedPlacement p(3);
  EXPECT_EQ(p.find(10), std::nullopt);
  int w = p.place(10);
  EXPECT_EQ(p.place(10), w);
  EXPECT_EQ(p.place(10), w);
  EXPECT_EQ(p.find(10), w);
}

TEST(WorkerPlacement, NewChannelsSpreadOverWorkers) {
  LeastLoadedPlacement p(3);
  EXPECT_EQ(p.place(1), 0);
  EXPECT_EQ(p.place(2), 1);
  EXPECT_EQ(p.place(3), 2);
  EXPECT_EQ(p.place(4), 0);  // a tie goes to the lowest index
  EXPECT_EQ(p.place(5), 1);
}

TEST(WorkerPlacement, ReleaseFreesTheWorker) {
  LeastLoadedPlacement p(2);
  EXPECT_EQ(p.place(1), 0);
  EXPECT_EQ(p.place(2), 1);
  EXPECT_EQ(p.place(3), 0);
  p.release(2);
  EXPECT_EQ(p.find(2), std::nullopt);
  EXPECT_EQ(p.place(4), 1);  // worker 1 has nothing now
  p.release(4);
  p.release(4);   // twice: no effect
  p.release(99);  // never placed: no effect
  EXPECT_EQ(p.place(5), 1);
  EXPECT_EQ(p.place(2), 1);  // a released channel is placed anew: worker 1 has 1, worker 0 2
  EXPECT_EQ(p.place(6), 0);
}

TEST(WorkerPlacement, OneWorkerTakesEverything) {
  for (int n : {1, 0, -3}) {  // 0 or fewer: still one worker, never an out-of-range index
    LeastLoadedPlacement p(n);
    for (std::uint64_t ch = 1; ch < 20; ++ch) EXPECT_EQ(p.place(ch), 0);
  }
}
