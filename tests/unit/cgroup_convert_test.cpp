// The v1 -> v2 conversions (runc's arithmetic) and the small parsers of cgroup files.
#include <gtest/gtest.h>

#include "cgroup/controller.h"
#include "util/error.h"

namespace hull::cgroup {
namespace {

TEST(SharesToWeight, EndsAndDefaultMapLikeRunc) {
  EXPECT_EQ(shares_to_weight(2), 1u);
  EXPECT_EQ(shares_to_weight(262144), 10000u);
  EXPECT_EQ(shares_to_weight(1024), 39u);  // runc's result; v2's default 100 is shares 2597
  EXPECT_EQ(shares_to_weight(512), 20u);
}

TEST(BlkioWeight, MapsOntoTheIoWeightScale) {
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
  EXPECT_EQ(blkio_weight_to_io_weight(500), 4950u);
}

TEST(SwapToV2, MemoryPlusSwapBecomesSwapAlone) {
  EXPECT_EQ(swap_to_v2(300, 200), 100);
  EXPECT_EQ(swap_to_v2(200, 200), 0);
  EXPECT_EQ(swap_to_v2(-1, 200), -1);  // unlimited swap
  EXPECT_EQ(swap_to_v2(0, 200), 0);    // unset
  EXPECT_EQ(swap_to_v2(0, -1), -1);    // unlimited memory: swap too
}

TEST(SwapToV2, RefusesWhatMakesNoSenseNamingTheField) {
  try {
    swap_to_v2(100, 200);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "linux.resources.memory.swap: 100 is below memory.limit 200 (swap counts memory "
                 "plus swap)");
  }
  EXPECT_THROW(swap_to_v2(100, 0), Error);
  EXPECT_THROW(swap_to_v2(100, -1), Error);
}

TEST(CpuList, ExpandsRanges) {
  EXPECT_EQ(parse_cpu_list("0-2,5\n"), (std::vector<uint16_t>{0, 1, 2, 5}));
  EXPECT_EQ(parse_cpu_list(""), std::vector<uint16_t>{});
}

}  // namespace
}  // namespace hull::cgroup
