// docker's `run` flag values, parsed as docker parses them, and refused with one line naming
// the flag and the value.
#include <gtest/gtest.h>

#include "frontend/docker_values.h"
#include "frontend/run_spec.h"
#include "util/error.h"

using namespace hull::frontend;
using hull::Error;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(DockerValues, Bytes) {
  EXPECT_EQ(parse_bytes("--memory", "256m"), 256LL << 20);
  EXPECT_EQ(parse_bytes("--memory", "1g"), 1LL << 30);
  EXPECT_EQ(parse_bytes("--memory", "1024"), 1024);
  EXPECT_EQ(parse_bytes("--memory-swap", "-1", true), -1);
  EXPECT_EQ(error_of([] { parse_bytes("--memory", "-1"); }),
            "--memory: invalid size \"-1\" (want a number with an optional unit: b, k, m or g)");
  EXPECT_NE(error_of([] { parse_bytes("--memory", "12x"); }), "no error");
}

TEST(DockerValues, Cpus) {
  EXPECT_EQ(parse_cpus("0.5", 2).quota, 50000);
  EXPECT_EQ(parse_cpus("1.5", 2).quota, 150000);
  EXPECT_EQ(parse_cpus("1.5", 2).period, 100000u);
  EXPECT_EQ(error_of([] { parse_cpus("3", 2); }),
            "--cpus: 3 is outside 0.01..2 (the CPUs of this host)");
  EXPECT_EQ(error_of([] { parse_cpus("half", 2); }),
            "--cpus: invalid number \"half\" (want e.g. 0.5 or 2)");
  EXPECT_NE(error_of([] { parse_cpus("0.001", 2); }), "no error");
}

TEST(DockerValues, Cpuset) {
  EXPECT_EQ(parse_cpuset("0-1", 2), "0-1");
  EXPECT_EQ(parse_cpuset("0,1", 4), "0,1");
  EXPECT_EQ(error_of([] { parse_cpuset("0-4", 2); }),
            "--cpuset-cpus: CPU 4 does not exist (this host has CPUs 0-1)");
  EXPECT_NE(error_of([] { parse_cpuset("1-0", 2); }), "no error");
  EXPECT_NE(error_of([] { parse_cpuset("a", 2); }), "no error");
}

TEST(DockerValues, Ulimit) {
  auto r = parse_ulimit("nofile=1024:2048");
  EXPECT_EQ(r.type, "RLIMIT_NOFILE");
  EXPECT_EQ(r.soft, 1024u);
  EXPECT_EQ(r.hard, 2048u);
  EXPECT_EQ(parse_ulimit("core=unlimited").hard, UINT64_MAX);
  EXPECT_EQ(parse_ulimit("nproc=5").hard, 5u);
  EXPECT_EQ(error_of([] { parse_ulimit("bogus=1"); }), "--ulimit: unknown limit \"bogus\"");
  EXPECT_NE(error_of([] { parse_ulimit("nofile=2:1"); }), "no error");
  EXPECT_NE(error_of([] { parse_ulimit("nofile"); }), "no error");
}

TEST(DockerValues, Volume) {
  auto v = parse_volume("/src:/dst:ro");
  EXPECT_EQ(v.source, "/src");
  EXPECT_EQ(v.destination, "/dst");
  EXPECT_TRUE(v.readonly);
  EXPECT_FALSE(parse_volume("/a:/b").readonly);
  EXPECT_TRUE(parse_volume("name:/b").named);
  EXPECT_FALSE(parse_volume("/a:/b").named);
  EXPECT_NE(error_of([] { parse_volume("n!:/b"); }), "no error");
  EXPECT_NE(error_of([] { parse_volume("x:/b"); }), "no error");
  EXPECT_NE(error_of([] { parse_volume("/a:b"); }), "no error");
  EXPECT_NE(error_of([] { parse_volume("/a:/b:bogus"); }), "no error");
  EXPECT_NE(error_of([] { parse_volume("/a:/"); }), "no error");
}

TEST(DockerValues, Tmpfs) {
  auto t = parse_tmpfs("/x");
  EXPECT_EQ(t.destination, "/x");
  EXPECT_EQ(t.options, (std::vector<std::string>{"noexec", "nosuid", "nodev"}));
  t = parse_tmpfs("/x:exec,size=1m");
  EXPECT_EQ(t.options, (std::vector<std::string>{"nosuid", "nodev", "exec", "size=1m"}));
  EXPECT_NE(error_of([] { parse_tmpfs("/x:size=lots"); }), "no error");
}

TEST(DockerValues, DeviceRate) {
  auto d = parse_device_rate("--device-read-bps", "/dev/sda:1mb", false);
  EXPECT_EQ(d.device, "/dev/sda");
  EXPECT_EQ(d.rate, 1u << 20);
  EXPECT_EQ(parse_device_rate("--device-read-iops", "/dev/sda:300", true).rate, 300u);
  EXPECT_NE(error_of([] { parse_device_rate("--device-read-iops", "/dev/sda:1k", true); }),
            "no error");
  EXPECT_NE(error_of([] { parse_device_rate("--device-read-bps", "/dev/sda:0", false); }),
            "no error");
}

TEST(DockerValues, Capabilities) {
  EXPECT_EQ(normalize_capability("--cap-add", "net_admin"), "CAP_NET_ADMIN");
  EXPECT_EQ(normalize_capability("--cap-add", "all"), "ALL");
  EXPECT_NE(error_of([] { normalize_capability("--cap-add", "fly"); }), "no error");
  auto def = effective_capabilities({}, {}, false);
  EXPECT_EQ(def.size(), 14u);
  auto no_kill = effective_capabilities({}, {"CAP_KILL"}, false);
  EXPECT_EQ(no_kill.size(), 13u);
  EXPECT_EQ(effective_capabilities({"CAP_KILL"}, {"ALL"}, false),
            std::vector<std::string>{"CAP_KILL"});
  auto all_but = effective_capabilities({"ALL"}, {"CAP_SYS_ADMIN"}, false);
  EXPECT_EQ(std::count(all_but.begin(), all_but.end(), "CAP_SYS_ADMIN"), 0);
  EXPECT_GT(all_but.size(), 30u);
}

TEST(DockerValues, SecurityOpts) {
  SecurityOpts s;
  apply_security_opt(s, "no-new-privileges");
  EXPECT_TRUE(s.no_new_privileges);
  apply_security_opt(s, "no-new-privileges:false");
  EXPECT_FALSE(s.no_new_privileges);
  apply_security_opt(s, "seccomp=unconfined");
  EXPECT_EQ(s.seccomp, "unconfined");
  EXPECT_NE(error_of([&] { apply_security_opt(s, "label=disable"); }), "no error");
  EXPECT_NE(error_of([&] { apply_security_opt(s, "nonsense"); }), "no error");
}

TEST(DockerValues, Env) {
  EXPECT_EQ(*parse_env("-e", "A=b=c"), "A=b=c");
  ::setenv("HULL_UNIT_ENV", "v", 1);
  EXPECT_EQ(*parse_env("-e", "HULL_UNIT_ENV"), "HULL_UNIT_ENV=v");
  EXPECT_FALSE(parse_env("-e", "HULL_UNIT_UNSET_ENV"));
  EXPECT_NE(error_of([] { parse_env("-e", "=x"); }), "no error");
  auto file = parse_env_file("f", "# c\n\nA=1\n  B=2  \n");
  EXPECT_EQ(file, (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_NE(error_of([] { parse_env_file("f", "A B=1\n"); }), "no error");
  std::vector<std::string> env = {"A=1", "B=2"};
  set_env(env, "A=3");
  set_env(env, "C=4");
  EXPECT_EQ(env, (std::vector<std::string>{"A=3", "B=2", "C=4"}));
}

TEST(DockerValues, NamesAndHostnames) {
  check_hostname("web-1.example");
  check_container_name("web_1.a-b");
  EXPECT_NE(error_of([] { check_hostname("bad_name"); }), "no error");
  EXPECT_NE(error_of([] { check_hostname(std::string(65, 'a')); }), "no error");
  EXPECT_NE(error_of([] { check_container_name("-x"); }), "no error");
  EXPECT_NE(error_of([] { check_container_name("a b"); }), "no error");
}

TEST(DockerValues, Users) {
  const char* passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n";
  const char* group = "root:x:0:\nwheel:x:10:alice\nalice:x:1000:\nstaff:x:50:\n";
  auto r = resolve_user("alice", passwd, group);
  EXPECT_EQ(r.uid, 1000u);
  EXPECT_EQ(r.gid, 1000u);
  EXPECT_EQ(r.home, "/home/alice");
  EXPECT_EQ(r.additional_gids, std::vector<uint32_t>{10});
  EXPECT_EQ(resolve_user("alice:staff", passwd, group).gid, 50u);
  auto n = resolve_user("4242", passwd, group);
  EXPECT_EQ(n.uid, 4242u);
  EXPECT_EQ(n.gid, 0u);
  EXPECT_EQ(resolve_user("4242:7", passwd, group).gid, 7u);
  EXPECT_EQ(resolve_user("0", passwd, group).shell, "/bin/bash");
  EXPECT_EQ(error_of([&] { resolve_user("bob", passwd, group); }),
            "-u: no user \"bob\" in the container's /etc/passwd");
  EXPECT_NE(error_of([&] { resolve_user("alice:nogroup", passwd, group); }), "no error");
  // (uid_t)-1 is "unchanged" to the kernel: root. Nothing above INT32_MAX, as runc.
  EXPECT_EQ(error_of([&] { resolve_user("4294967295", passwd, group); }),
            "-u: uid 4294967295 is out of range (at most 2147483647)");
  EXPECT_EQ(error_of([&] { resolve_user("0:2147483648", passwd, group); }),
            "-u: gid 2147483648 is out of range (at most 2147483647)");
  EXPECT_EQ(resolve_user("2147483647:2147483647", passwd, group).gid, 2147483647u);
}

TEST(DockerValues, UsernsRange) {
  auto r = userns_range("alice:100000:65536\nroot:200000:65536\n");
  EXPECT_EQ(r.outside, 200000u);
  EXPECT_EQ(r.count, 65536u);
  EXPECT_EQ(r.inside, 0u);
  EXPECT_EQ(userns_range("").outside, 100000u);
  EXPECT_EQ(userns_range("root:300000:1000\n").outside, 100000u);  // too small a range
  EXPECT_EQ(userns_range("0:300000:65536\n").outside, 300000u);    // by uid, as newuidmap
}

TEST(DockerValues, UpdateSetsOnlyTheGivenLimits) {
  UpdateOptions u;
  u.memory = "128m";
  u.pids_limit = "0";
  auto r = update_resources(u);
  ASSERT_TRUE(r.memory && r.memory->limit);
  EXPECT_EQ(*r.memory->limit, 128 << 20);
  EXPECT_FALSE(r.memory->swap);
  EXPECT_EQ(r.pids_limit, -1);  // docker: 0 is "no limit", which update must write
  EXPECT_FALSE(r.cpu);
  EXPECT_FALSE(r.block_io);
  EXPECT_TRUE(r.devices.empty());  // an update must not replace the device rules

  UpdateOptions c;
  c.cpus = "0.5";
  c.cpu_shares = "512";
  r = update_resources(c);
  ASSERT_TRUE(r.cpu);
  EXPECT_EQ(r.cpu->quota, 50000);
  EXPECT_EQ(r.cpu->period, 100000u);
  EXPECT_EQ(r.cpu->shares, 512u);
  EXPECT_FALSE(r.memory);
}

TEST(DockerValues, UpdateRefusals) {
  EXPECT_EQ(error_of([] { update_resources({}); }),
            "nothing to update: give at least one of --memory, --cpus, --pids-limit, ...");
  UpdateOptions m;
  m.memory = "4m";
  EXPECT_EQ(error_of([&] { update_resources(m); }), "--memory: \"4m\" is below the minimum of 6m");
  m.memory = "64m";
  m.memory_swap = "32m";
  EXPECT_EQ(error_of([&] { update_resources(m); }),
            "--memory-swap: \"32m\" is below --memory \"64m\" (it is memory plus swap)");
  UpdateOptions c;
  c.cpus = "1";
  c.cpu_quota = "50000";
  EXPECT_EQ(error_of([&] { update_resources(c); }),
            "--cpus: give it or --cpu-quota/--cpu-period, not both");
  UpdateOptions b;
  b.blkio_weight = "5";
  EXPECT_NE(error_of([&] { update_resources(b); }), "no error");
}
