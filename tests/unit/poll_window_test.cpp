#include "shm/poll_window.hpp"

#include <gtest/gtest.h>

namespace {

using shm::PollWindow;
using std::chrono::microseconds;

TEST(PollWindowTest, StartsAtTheLongestWindow) { EXPECT_EQ(PollWindow(microseconds{50}).current(), microseconds{50}); }

TEST(PollWindowTest, LongSleepsHalveItDownToNone) {
  PollWindow w(microseconds{50});
  w.after_sleep(microseconds{51});
  EXPECT_EQ(w.current(), microseconds{25});
  w.after_sleep(microseconds{1000});
  EXPECT_EQ(w.current(), microseconds{12});
  w.after_sleep(microseconds{1000});
  EXPECT_EQ(w.current(), microseconds::zero());  // 6 us is below the smallest worth polling
  w.after_sleep(microseconds{1000});
  EXPECT_EQ(w.current(), microseconds::zero());
}

TEST(PollWindowTest, ShortSleepsGrowItBackFromTheStartToTheLongest) {
  PollWindow w(microseconds{50});
  for (int i = 0; i < 4; ++i) w.after_sleep(microseconds{1000});
  ASSERT_EQ(w.current(), microseconds::zero());
  w.after_sleep(microseconds{50});  // a sleep the longest window would have caught
  EXPECT_EQ(w.current(), PollWindow::kGrowStart);
  w.after_sleep(microseconds{5});
  EXPECT_EQ(w.current(), microseconds{20});
  w.after_sleep(microseconds{5});
  EXPECT_EQ(w.current(), microseconds{40});
  w.after_sleep(microseconds{5});
  EXPECT_EQ(w.current(), microseconds{50});
  w.after_sleep(microseconds{5});
  EXPECT_EQ(w.current(), microseconds{50});
}

TEST(PollWindowTest, ALongestWindowBelowTheGrowStartStaysWithinIt) {
  PollWindow w(microseconds{4});
  w.after_sleep(microseconds{100});
  EXPECT_EQ(w.current(), microseconds::zero());
  w.after_sleep(microseconds{3});
  EXPECT_EQ(w.current(), microseconds{4});
}

}  // namespace
