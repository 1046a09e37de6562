// What each controller unit writes, checked in a scratch directory whose files stand in for a
// cgroup's: the spelling of the v2 files (cpu.max, memory.swap.max, io.max) and the refusals.
// The real kernel's answers are the integration tests' business (tests/integration, and the
// cgroup v2 VM suite).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>

#include "cgroup/controller.h"
#include "util/error.h"
#include "util/fs.h"

namespace hull::cgroup {
namespace {

const Controller& unit(const char* name) {
  for (const Controller* c : controllers())
    if (std::strcmp(c->name, name) == 0) return *c;
  throw std::runtime_error(name);
}

class ScratchCgroup : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hull-unit-cg-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { remove_all(dir_); }
  // Creates the files a kernel would offer, empty.
  void offer(std::initializer_list<const char*> files) {
    for (const char* f : files) write_file(path_join(dir_, f), "");
  }
  std::string got(const char* file) { return read_file(path_join(dir_, file)); }
  std::string dir_;
};

TEST_F(ScratchCgroup, CpuV2WritesWeightAndMax) {
  offer({"cpu.weight", "cpu.max"});
  oci::Resources r;
  r.cpu = oci::CpuResources{};
  r.cpu->shares = 1024;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  unit("cpu").apply_v2(dir_, r, false);
  EXPECT_EQ(got("cpu.weight"), "39");
  EXPECT_EQ(got("cpu.max"), "50000 100000");
}

TEST_F(ScratchCgroup, CpuV2UnlimitedQuotaIsMax) {
  offer({"cpu.max"});
  oci::Resources r;
  r.cpu = oci::CpuResources{};
  r.cpu->quota = -1;
  r.cpu->period = 250000;
  unit("cpu").apply_v2(dir_, r, false);
  EXPECT_EQ(got("cpu.max"), "max 250000");
}

TEST_F(ScratchCgroup, CpuV2RefusesRealtime) {
  oci::Resources r;
  r.cpu = oci::CpuResources{};
  r.cpu->realtime_runtime = 1000;
  try {
    unit("cpu").apply_v2(dir_, r, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "linux.resources.cpu.realtimeRuntime: cgroup v2 has no realtime group scheduling");
  }
}

TEST_F(ScratchCgroup, MemoryV2SwapIsSwapAlone) {
  offer({"memory.max", "memory.swap.max", "memory.low"});
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = 256 << 20;
  r.memory->swap = 512 << 20;
  r.memory->reservation = 128 << 20;
  unit("memory").apply_v2(dir_, r, false);
  EXPECT_EQ(got("memory.max"), std::to_string(256 << 20));
  EXPECT_EQ(got("memory.swap.max"), std::to_string(256 << 20));
  EXPECT_EQ(got("memory.low"), std::to_string(128 << 20));
}

TEST_F(ScratchCgroup, MemoryV2UnlimitedIsMaxForBoth) {
  offer({"memory.max", "memory.swap.max"});
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = -1;
  unit("memory").apply_v2(dir_, r, false);
  EXPECT_EQ(got("memory.max"), "max");
  EXPECT_EQ(got("memory.swap.max"), "max");
}

TEST_F(ScratchCgroup, MemoryV1RaisesMemswBeforeTheLimit) {
  offer({"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"});
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = 100;
  r.memory->swap = 200;
  unit("memory").apply_v1(dir_, r, false);
  EXPECT_EQ(got("memory.limit_in_bytes"), "100");
  EXPECT_EQ(got("memory.memsw.limit_in_bytes"), "200");
}

TEST_F(ScratchCgroup, IoV2ScalesTheWeightAndThrottlesByDevice) {
  offer({"io.weight", "io.max"});
  oci::Resources r;
  r.block_io = oci::BlockIoResources{};
  r.block_io->weight = 500;
  r.block_io->throttle_read_bps.push_back({7, 0, 1048576});
  unit("blkio").apply_v2(dir_, r, false);
  EXPECT_EQ(got("io.weight"), "default 4950");
  EXPECT_EQ(got("io.max"), "7:0 rbps=1048576");
}

TEST_F(ScratchCgroup, IoV2WithBfqKeepsTheBlkioScale) {
  offer({"io.weight", "io.bfq.weight"});
  oci::Resources r;
  r.block_io = oci::BlockIoResources{};
  r.block_io->weight = 500;
  unit("blkio").apply_v2(dir_, r, false);
  EXPECT_EQ(got("io.bfq.weight"), "default 500");
  EXPECT_EQ(got("io.weight"), "");
}

TEST_F(ScratchCgroup, BlkioV1WithoutWeightFilesSaysWhy) {
  oci::Resources r;
  r.block_io = oci::BlockIoResources{};
  r.block_io->weight = 300;
  try {
    unit("blkio").apply_v1(dir_, r, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "linux.resources.blockIO.weight: 300: this kernel has no proportional I/O weights "
                 "(neither CFQ nor BFQ)");
  }
}

TEST_F(ScratchCgroup, PidsNegativeIsMaxAndZeroIsUnset) {
  offer({"pids.max"});
  oci::Resources r;
  r.pids_limit = 0;
  EXPECT_FALSE(unit("pids").applies(r));
  r.pids_limit = -1;
  ASSERT_TRUE(unit("pids").applies(r));
  unit("pids").apply_v2(dir_, r, false);
  EXPECT_EQ(got("pids.max"), "max");
}

TEST_F(ScratchCgroup, UnifiedWritesFilesAndNamesTheMissingOne) {
  offer({"memory.high"});
  oci::Resources r;
  r.unified["memory.high"] = "1000000";
  unit("unified").apply_v2(dir_, r, false);
  EXPECT_EQ(got("memory.high"), "1000000");
  r.unified["cgroup.procs"] = "1";
  EXPECT_THROW(unit("unified").apply_v2(dir_, r, false), Error);
  r.unified.clear();
  r.unified["io.nope"] = "1";
  try {
    unit("unified").apply_v2(dir_, r, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(
        std::string(e.what()).rfind("linux.resources.unified.io.nope: \"1\": no such file in ", 0),
        0u)
        << e.what();
  }
}

TEST_F(ScratchCgroup, NetClsHasNoV2Counterpart) {
  oci::Resources r;
  r.network = oci::NetworkResources{};
  r.network->class_id = 0x100001;
  EXPECT_THROW(unit("net_cls").apply_v2(dir_, r, false), Error);
}

}  // namespace
}  // namespace hull::cgroup
