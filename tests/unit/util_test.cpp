#include <gtest/gtest.h>

#include "cgroup/layout.h"
#include "cgroup/manager.h"
#include "linux/mount.h"
#include "linux/mountinfo.h"
#include "runtime/runtime.h"
#include "runtime/state_store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/passwd.h"
#include "util/rounding.h"
#include "util/strings.h"

#include <sys/mount.h>

#include <cmath>

using namespace hull;

TEST(Strings, ParseSize) {
  EXPECT_EQ(*parse_size("256m"), 256LL << 20);
  EXPECT_EQ(*parse_size("1g"), 1LL << 30);
  EXPECT_EQ(*parse_size("512k"), 512LL << 10);
  EXPECT_EQ(*parse_size("100"), 100);
  EXPECT_EQ(*parse_size("2MB"), 2LL << 20);
  EXPECT_FALSE(parse_size("-1m"));
  EXPECT_FALSE(parse_size("lots"));
  EXPECT_FALSE(parse_size(""));
}

TEST(Strings, ParseInts) {
  EXPECT_EQ(*parse_i64("-5"), -5);
  EXPECT_FALSE(parse_u64("-5"));
  EXPECT_FALSE(parse_i64("5x"));
  EXPECT_FALSE(parse_u64("99999999999999999999"));
  EXPECT_EQ(*parse_u64("ff", 16), 255u);
}

TEST(Strings, MessagesStayOneLineOfUtf8) {
  EXPECT_EQ(hull::printable("plain \xc3\xa9t\xc3\xa9 \xe2\x82\xac"), "plain \xc3\xa9t\xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(hull::printable("a\nb\tc\x1b"), "a\\x0ab\\x09c\\x1b");
  EXPECT_EQ(hull::printable(std::string_view("tr\xff\xfeue\0", 7)), "tr\\xff\\xfeue\\x00");
  // overlong, surrogate, past U+10FFFF, truncated
  EXPECT_EQ(hull::printable("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(hull::printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(hull::printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
  EXPECT_EQ(hull::printable("\xe2\x82"), "\\xe2\\x82");
  EXPECT_EQ(hull::quote("a\"\xff\n"), "\"a\\\"\\\\xff\\n\"");
}

// util/rounding.h stands in for libm's llround (hull links no libm): the same answers.
TEST(Rounding, HalvesAwayFromZeroAsLlround) {
  for (double v : {0.0, 0.4, 0.5, 0.6, 1.5, 2.5, -0.4, -0.5, -0.6, -2.5, 0.49999999999999994,
                   -0.49999999999999994, 123456.5, 1e15 + 0.5, 4503599627370495.5})
    EXPECT_EQ(hull::round_to_ll(v), std::llround(v)) << v;
}

TEST(Fs, CleanPath) {
  EXPECT_EQ(clean_path("/a/./b//c/"), "/a/b/c");
  EXPECT_EQ(clean_path("/../../etc"), "/etc");
  EXPECT_EQ(clean_path("a/../../b"), "../b");
  EXPECT_EQ(clean_path(""), ".");
  EXPECT_EQ(dirname_of("/a/b"), "/a");
  EXPECT_EQ(basename_of("/a/b/"), "b");
  EXPECT_EQ(path_join("/a/", "/b"), "/a/b");
}

TEST(Errors, ContextAndLowercaseErrno) {
  try {
    with_context("create web", [] { fail_err(EPERM, "mount proc on {}", "/proc"); });
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "create web: mount proc on /proc: operation not permitted");
    EXPECT_EQ(e.err(), EPERM);
  }
  EXPECT_EQ(errno_text(ENOENT), "no such file or directory");
  EXPECT_EQ(errno_text(EACCES), "permission denied");
}

TEST(MountOptions, FlagsPropagationDataAndRecursive) {
  auto o = linux::parse_mount_options({"rbind", "ro", "nosuid", "rslave", "size=64k", "mode=755", "rnoexec", "rw"});
  EXPECT_TRUE(o.bind);
  EXPECT_TRUE(o.recursive);
  EXPECT_FALSE(o.flags & MS_RDONLY);  // rw after ro wins
  EXPECT_TRUE(o.flags & MS_NOSUID);
  EXPECT_EQ(o.propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(o.data, "size=64k,mode=755");
  EXPECT_NE(o.attr_set, 0u);
}

TEST(Mountinfo, ParsesEscapesAndOptionalFields) {
  auto m = linux::parse_mountinfo(
      "36 35 98:0 /mnt1 /mnt\\040x rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\n"
      "40 30 0:35 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].mount_point, "/mnt x");
  EXPECT_EQ(m[0].optional, "master:1 shared:2");
  EXPECT_EQ(m[0].fstype, "ext3");
  EXPECT_EQ(m[1].super_options, "rw,pids");
  EXPECT_EQ(linux::mount_containing(m, "/sys/fs/cgroup/pids/a")->id, 40);
}

static const std::string& no_controllers(const std::string&) {
  static std::string s = "cpu memory pids io";
  return s;
}

TEST(CgroupLayout, HybridV1AndV2) {
  std::string hybrid =
      "31 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
      "34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "39 30 0:36 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n"
      "40 30 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
  auto l = cgroup::parse_layout(hybrid, no_controllers);
  EXPECT_EQ(l.layout, cgroup::Layout::hybrid);
  EXPECT_EQ(l.hierarchies.size(), 4u);
  EXPECT_EQ(l.base, "/sys/fs/cgroup");
  EXPECT_EQ(l.v1("memory")->mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ(l.tracking()->mount_point, "/sys/fs/cgroup/unified");

  auto v2 = cgroup::parse_layout("40 30 0:37 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", no_controllers);
  EXPECT_EQ(v2.layout, cgroup::Layout::v2);
  EXPECT_EQ(v2.unified()->controllers.size(), 4u);

  auto v1 = cgroup::parse_layout("31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
                                 no_controllers);
  EXPECT_EQ(v1.layout, cgroup::Layout::v1);
  EXPECT_EQ(v1.hierarchies[0].dir_name(), "cpu,cpuacct");
  EXPECT_TRUE(v1.hierarchies[0].has("cpuacct"));
}

TEST(CgroupPath, Resolve) {
  EXPECT_EQ(cgroup::resolve_path("", "web"), "/hull/web");
  EXPECT_EQ(cgroup::resolve_path("/a/b", "web"), "/a/b");
  EXPECT_EQ(cgroup::resolve_path("a/b", "web"), "/a/b");
  EXPECT_EQ(cgroup::resolve_path("/../../x", "web"), "/x");
  EXPECT_THROW(cgroup::resolve_path("/", "web"), Error);
  EXPECT_THROW(cgroup::resolve_path("system.slice:hull:web", "web"), Error);
}

TEST(Signals, NamesAndNumbers) {
  EXPECT_EQ(runtime::parse_signal("KILL"), 9);
  EXPECT_EQ(runtime::parse_signal("SIGTERM"), 15);
  EXPECT_EQ(runtime::parse_signal("sigusr1"), 10);
  EXPECT_EQ(runtime::parse_signal("9"), 9);
  EXPECT_EQ(runtime::parse_signal("RTMIN+1"), SIGRTMIN + 1);
  EXPECT_THROW(runtime::parse_signal("BOGUS"), Error);
  EXPECT_EQ(runtime::parse_signal("0"), 0);  // kill ID 0: the existence probe, as runc
  EXPECT_THROW(runtime::parse_signal("-1"), Error);
  EXPECT_THROW(runtime::parse_signal("65"), Error);
  EXPECT_EQ(runtime::signal_name(15), "SIGTERM");
}

TEST(ContainerId, Validation) {
  runtime::validate_id("web-1_a.b+c");
  EXPECT_THROW(runtime::validate_id("../x"), Error);
  EXPECT_THROW(runtime::validate_id("-x"), Error);
  EXPECT_THROW(runtime::validate_id(""), Error);
  EXPECT_THROW(runtime::validate_id(std::string(1025, 'a')), Error);
}

TEST(Passwd, HomeOfAUidElseSlash) {
  std::string text =
      "root:x:0:0:root:/root:/bin/sh\nbad line\napp:x:1000:1000::/home/app:/bin/sh\n"
      "nohome:x:7:7:::/bin/false\n";
  EXPECT_EQ(home_of(text, 0), "/root");
  EXPECT_EQ(home_of(text, 1000), "/home/app");
  EXPECT_EQ(home_of(text, 7), "/");
  EXPECT_EQ(home_of(text, 4242), "/");
  EXPECT_EQ(home_of("", 0), "/");
}
