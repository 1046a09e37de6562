// config.json parsing and validation: every field lands in its struct, every error names
// the JSON path and the value.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "oci/parse.h"
#include "util/error.h"

using hull::Error;
using hull::oci::NamespaceType;
using hull::oci::parse_spec;
using json = nlohmann::json;

namespace {

json minimal() {
  return json::parse(R"({"ociVersion":"1.2.0","root":{"path":"rootfs"},
    "process":{"args":["sh"],"cwd":"/"},"linux":{"namespaces":[{"type":"mount"}]}})");
}

std::string error_of(const json& j) {
  try {
    parse_spec(j.dump());
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(Parse, Minimal) {
  auto s = parse_spec(minimal().dump());
  EXPECT_EQ(s.root.path, "rootfs");
  EXPECT_FALSE(s.root.readonly);
  ASSERT_TRUE(s.process);
  EXPECT_EQ(s.process->args, std::vector<std::string>{"sh"});
  EXPECT_TRUE(s.linux.has_namespace(NamespaceType::mount));
}

TEST(Parse, EveryProcessField) {
  json j = minimal();
  j["process"] = json::parse(R"({
    "terminal": true, "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1, "gid": 2, "umask": 18, "additionalGids": [3, 4], "username": "u"},
    "args": ["a", "b"], "env": ["A=1"], "cwd": "/w",
    "capabilities": {"bounding": ["CAP_KILL"], "effective": ["kill"], "inheritable": [],
                     "permitted": ["CAP_KILL"], "ambient": ["CAP_KILL"]},
    "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}],
    "noNewPrivileges": true, "apparmorProfile": "p", "oomScoreAdj": -5,
    "scheduler": {"policy": "SCHED_BATCH", "nice": 3, "priority": 0, "flags": ["SCHED_FLAG_RESET_ON_FORK"]},
    "selinuxLabel": "l", "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
    "execCPUAffinity": {"initial": "0", "final": "0-1"}})");
  auto s = parse_spec(j.dump());
  const auto& p = *s.process;
  EXPECT_TRUE(p.terminal);
  EXPECT_EQ(p.console_size->height, 24u);
  EXPECT_EQ(p.user.uid, 1u);
  EXPECT_EQ(p.user.gid, 2u);
  EXPECT_EQ(*p.user.umask, 18u);
  EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{3, 4}));
  EXPECT_EQ(p.capabilities->effective, std::vector<std::string>{"CAP_KILL"});  // normalised
  EXPECT_EQ(p.rlimits[0].hard, 20u);
  EXPECT_TRUE(p.no_new_privileges);
  EXPECT_EQ(*p.oom_score_adj, -5);
  EXPECT_EQ(p.scheduler->policy, "SCHED_BATCH");
  EXPECT_EQ(p.io_priority->priority, 4);
  EXPECT_EQ(p.exec_cpu_affinity->final, "0-1");
}

TEST(Parse, EveryLinuxField) {
  json j = minimal();
  j["hostname"] = "h";
  j["domainname"] = "d";
  j["linux"] = json::parse(R"({
    "namespaces": [{"type": "mount"}, {"type": "user"}, {"type": "uts"}, {"type": "time"},
                   {"type": "network", "path": "/proc/1/ns/net"}],
    "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}],
    "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}],
    "timeOffsets": {"monotonic": {"secs": 5, "nanosecs": 6}},
    "devices": [{"type": "c", "path": "/dev/x", "major": 1, "minor": 2, "fileMode": 438, "uid": 0, "gid": 0}],
    "cgroupsPath": "/a/b",
    "resources": {
      "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
      "memory": {"limit": 100, "reservation": 50, "swap": -1, "kernel": 1, "kernelTCP": 2, "swappiness": 60,
                 "disableOOMKiller": true, "useHierarchy": true, "checkBeforeUpdate": true},
      "cpu": {"shares": 512, "quota": 50000, "burst": 1, "period": 100000, "realtimeRuntime": 1,
              "realtimePeriod": 2, "cpus": "0", "mems": "0", "idle": 1},
      "pids": {"limit": 10},
      "blockIO": {"weight": 100, "leafWeight": 10, "weightDevice": [{"major": 8, "minor": 0, "weight": 200}],
                  "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                  "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}]},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
      "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]},
      "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
      "unified": {"memory.high": "1000000"}},
    "rootfsPropagation": "rslave",
    "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86_64"],
                "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW",
                              "args": [{"index": 1, "value": 7, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}]},
    "sysctl": {"net.ipv4.ip_forward": "1"},
    "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"], "mountLabel": "m",
    "personality": {"domain": "LINUX32"},
    "netDevices": {"eth1": {"name": "net1"}}})");
  auto s = parse_spec(j.dump());
  const auto& l = s.linux;
  EXPECT_EQ(l.namespaces.size(), 5u);
  EXPECT_EQ(l.find_namespace(NamespaceType::network)->path, "/proc/1/ns/net");
  EXPECT_EQ(l.uid_mappings[0].host_id, 1000u);
  EXPECT_EQ(l.time_offsets.at("monotonic").nanosecs, 6u);
  EXPECT_EQ(l.devices[0].type, 'c');
  EXPECT_EQ(*l.devices[0].file_mode, 438u);
  EXPECT_EQ(l.cgroups_path, "/a/b");
  const auto& r = *l.resources;
  EXPECT_EQ(r.devices.size(), 2u);
  EXPECT_EQ(r.devices[0].type, "a");
  EXPECT_EQ(*r.devices[1].minor, 3);
  EXPECT_EQ(*r.memory->swap, -1);
  EXPECT_TRUE(*r.memory->disable_oom_killer);
  EXPECT_EQ(*r.cpu->quota, 50000);
  EXPECT_EQ(r.cpu->cpus, "0");
  EXPECT_EQ(*r.pids_limit, 10);
  EXPECT_EQ(*r.block_io->weight, 100);
  EXPECT_EQ(r.block_io->throttle_read_bps[0].rate, 1048576u);
  EXPECT_EQ(r.block_io->throttle_write_iops[0].rate, 100u);
  EXPECT_EQ(r.hugepage_limits[0].page_size, "2MB");
  EXPECT_EQ(*r.network->class_id, 1048577u);
  EXPECT_EQ(*r.rdma.at("mlx5_1").hca_objects, 10000u);
  EXPECT_EQ(r.unified.at("memory.high"), "1000000");
  EXPECT_EQ(l.seccomp->syscalls[0].args[0].op, "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ(*l.seccomp->default_errno_ret, 1u);
  EXPECT_EQ(l.sysctl.at("net.ipv4.ip_forward"), "1");
  EXPECT_FALSE(l.intel_rdt);  // refused when set (issue 16): harden_test.cpp
  EXPECT_EQ(l.personality->domain, "LINUX32");
  EXPECT_EQ(l.net_devices.at("eth1").name, "net1");
  EXPECT_EQ(s.hostname, "h");
  EXPECT_EQ(s.domainname, "d");
}

TEST(Parse, MountsAndHooks) {
  json j = minimal();
  j["mounts"] = json::parse(R"([{"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/d", "type": "bind", "source": "/h", "options": ["rbind", "ro"]}])");
  j["hooks"] = json::parse(R"({"prestart": [{"path": "/p", "args": ["p", "1"], "env": ["E=1"], "timeout": 3}],
    "poststop": [{"path": "/q"}]})");
  j["annotations"] = {{"a", "b"}};
  auto s = parse_spec(j.dump());
  EXPECT_EQ(s.mounts.size(), 2u);
  EXPECT_EQ(s.mounts[1].options, (std::vector<std::string>{"rbind", "ro"}));
  EXPECT_EQ(*s.hooks.prestart[0].timeout, 3);
  EXPECT_EQ(s.hooks.poststop[0].path, "/q");
  EXPECT_EQ(s.annotations.at("a"), "b");
}

TEST(Parse, NullIsAbsent) {
  json j = minimal();
  j["process"]["capabilities"] = nullptr;
  j["linux"]["resources"] = nullptr;
  j["hooks"] = nullptr;
  auto s = parse_spec(j.dump());
  EXPECT_FALSE(s.process->capabilities);
  EXPECT_FALSE(s.linux.resources);
}

TEST(Parse, IntegralFloatsAreAccepted) {
  json j = minimal();
  j["linux"]["resources"] = json::parse(R"({"memory": {"limit": 1e9}})");
  EXPECT_EQ(*parse_spec(j.dump()).linux.resources->memory->limit, 1000000000);
}

// A float no 64-bit integer holds was converted anyway (undefined behaviour; fuzz-state found
// it with "pid": 4.2e43): it is out of range, and a fraction is not an integer.
TEST(ParseErrors, FloatsOutsideEveryIntegerAreOutOfRange) {
  json j = minimal();
  j["linux"]["resources"] = json::parse(R"({"memory": {"limit": 4.2e43}})");
  EXPECT_EQ(error_of(j), "linux.resources.memory.limit: value 4.2e+43 out of range");
  j["linux"]["resources"] = json::parse(R"({"memory": {"limit": -1e19}})");
  EXPECT_EQ(error_of(j), "linux.resources.memory.limit: value -1e+19 out of range");
  j["linux"]["resources"] = json::parse(R"({"memory": {"limit": 1.5}})");
  EXPECT_EQ(error_of(j), "linux.resources.memory.limit: expected an integer, got number 1.5");
  j["linux"]["resources"] = json::parse(R"({"memory": {"limit": 1.8e19}})");
  EXPECT_EQ(error_of(j), "linux.resources.memory.limit: value 18000000000000000000 out of range");
}

TEST(ParseErrors, NameTheJsonPath) {
  json j = minimal();
  j["linux"]["namespaces"] = json::parse(R"([{"type":"mount"},{"type":"pid"},{"type":"netw"}])");
  EXPECT_EQ(error_of(j), "linux.namespaces[2].type: unknown namespace \"netw\"");

  j = minimal();
  j["process"]["user"] = {{"uid", "root"}};
  EXPECT_EQ(error_of(j), "process.user.uid: expected an integer, got string \"root\"");

  j = minimal();
  j["process"]["rlimits"] = json::parse(R"([{"type":"RLIMIT_NOFILE","soft":10,"hard":5}])");
  EXPECT_EQ(error_of(j), "process.rlimits[0].soft: soft limit 10 is above the hard limit 5");

  j = minimal();
  j["linux"]["resources"] = json::parse(R"({"blockIO": {"weight": 70000}})");
  EXPECT_EQ(error_of(j), "linux.resources.blockIO.weight: value 70000 out of range");

  j = minimal();
  j["linux"]["seccomp"] = json::parse(R"({"defaultAction": "SCMP_ACT_BOOM"})");
  EXPECT_EQ(error_of(j), "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_BOOM\"");

  j = minimal();
  j["linux"]["seccomp"] = json::parse(
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "op": "SCMP_CMP_EQ"}]}]})");
  EXPECT_EQ(error_of(j), "linux.seccomp.syscalls[0].args[0].index: 6 is outside 0..5");

  j = minimal();
  j.erase("root");
  EXPECT_EQ(error_of(j), "root.path: required");

  j = minimal();
  j["process"]["args"] = json::array();
  EXPECT_EQ(error_of(j), "process.args: at least one argument is required");

  j = minimal();
  j["process"]["env"] = {"NOEQUALS"};
  EXPECT_EQ(error_of(j), "process.env[0]: \"NOEQUALS\" is not NAME=VALUE");

  j = minimal();
  j["hostname"] = "x";
  EXPECT_EQ(error_of(j), "hostname: needs a uts namespace of the container's own");

  j = minimal();
  j["linux"]["timeOffsets"] = json::parse(R"({"realtime": {"secs": 1}})");
  EXPECT_EQ(error_of(j), "linux.timeOffsets.realtime: unknown clock \"realtime\" (want monotonic or boottime)");

  j = minimal();
  j["process"]["oomScoreAdj"] = 5000;
  EXPECT_EQ(error_of(j), "process.oomScoreAdj: 5000 is outside -1000..1000");

  j = minimal();
  j["mounts"] = json::parse(R"([{"destination": "/x", "options": ["ro", ""]}])");
  EXPECT_EQ(error_of(j), "mounts[0].options[1]: empty option");
}

TEST(ParseErrors, Versions) {
  json j = minimal();
  for (const char* ok : {"1.0.0", "1.0.2-dev", "1.1.0-rc.1", "1.2.0", "1.2.1"}) {
    j["ociVersion"] = ok;
    EXPECT_EQ(error_of(j), "no error") << ok;
  }
  j["ociVersion"] = "2.0.0";
  EXPECT_EQ(error_of(j), "ociVersion: unsupported version \"2.0.0\" (hull implements runtime-spec 1.0.0 to 1.2.x)");
  j["ociVersion"] = "1.x";
  EXPECT_EQ(error_of(j), "ociVersion: \"1.x\" is not a version (want 1.0.0 to 1.2.x)");
}

TEST(ParseErrors, InvalidJson) {
  try {
    parse_spec("{\"ociVersion\": ");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("config.json: invalid JSON at ociVersion: parse error at line 1", 0), 0u) << e.what();
  }
}

TEST(ParseProcess, ExecProcessJson) {
  auto p = hull::oci::parse_process(R"({"args":["ls"],"cwd":"/","env":["A=1"],"user":{"uid":5,"gid":6}})");
  EXPECT_EQ(p.user.uid, 5u);
  try {
    hull::oci::parse_process(R"({"args":[],"cwd":"/"})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "args: at least one argument is required");
  }
}

TEST(ParseResources, UpdateJson) {
  auto r = hull::oci::parse_resources(R"({"memory":{"limit":268435456},"pids":{"limit":50}})");
  EXPECT_EQ(*r.memory->limit, 268435456);
  EXPECT_EQ(*r.pids_limit, 50);
}

// (uid_t)-1 is "unchanged" to setresuid and setgroups: 4294967295 would run as root (issue 16).
TEST(Parse, UserIdsAboveInt32MaxAreRefused) {
  auto with_user = [](const json& user) {
    auto j = minimal();
    j["process"]["user"] = user;
    return error_of(j);
  };
  EXPECT_EQ(with_user({{"uid", 4294967295u}, {"gid", 0}}),
            "process.user.uid: 4294967295 is out of range (at most 2147483647)");
  EXPECT_EQ(with_user({{"uid", 0}, {"gid", 4294967295u}}),
            "process.user.gid: 4294967295 is out of range (at most 2147483647)");
  EXPECT_EQ(with_user({{"uid", 0}, {"gid", 0}, {"additionalGids", {5, 2147483648u}}}),
            "process.user.additionalGids[1]: 2147483648 is out of range (at most 2147483647)");
  EXPECT_EQ(with_user({{"uid", 2147483647}, {"gid", 2147483647}, {"additionalGids", {2147483647}}}),
            "no error");
  try {
    hull::oci::parse_process(R"({"args":["sh"],"cwd":"/","user":{"uid":4294967295,"gid":0}})");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "user.uid: 4294967295 is out of range (at most 2147483647)");
  }
}

// Issue 18: where runc reads a config more leniently, or where absence means something.
TEST(Parse, UnknownCapabilitiesAreSkipped) {
  json j = minimal();
  j["process"]["capabilities"] =
      json::parse(R"({"bounding": ["CAP_KILL", "CAP_FROM_THE_FUTURE", "chown"]})");
  auto s = parse_spec(j.dump());
  EXPECT_EQ(s.process->capabilities->bounding, (std::vector<std::string>{"CAP_KILL", "CAP_CHOWN"}));
}

TEST(Parse, HookEnvAbsentOrGiven) {
  json j = minimal();
  j["hooks"] = json::parse(R"({"prestart": [{"path": "/p"}, {"path": "/q", "env": []}]})");
  auto s = parse_spec(j.dump());
  EXPECT_FALSE(s.hooks.prestart[0].env_given);
  EXPECT_TRUE(s.hooks.prestart[1].env_given);
  EXPECT_TRUE(s.hooks.prestart[1].env.empty());
}

TEST(Parse, DeviceAccessLettersOutsideRwm) {
  json j = minimal();
  j["linux"]["resources"] = json::parse(R"({"devices": [{"allow": false, "access": "x"},
    {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwxr"},
    {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "q"}]})");
  auto r = *parse_spec(j.dump()).linux.resources;
  ASSERT_EQ(r.devices.size(), 2u);        // the allow that grants nothing known is gone
  EXPECT_EQ(r.devices[0].access, "rwm");  // a deny with nothing known denies everything
  EXPECT_EQ(r.devices[1].access, "rw");
}

TEST(Parse, HostNameSysctlsMustAgree) {
  json j = minimal();
  j["linux"]["namespaces"].push_back({{"type", "uts"}});
  j["hostname"] = "a";
  j["linux"]["sysctl"] = {{"kernel.hostname", "b"}};
  EXPECT_EQ(error_of(j), "linux.sysctl.kernel.hostname: \"b\" contradicts hostname \"a\"");
  j["linux"]["sysctl"] = {{"kernel.hostname", "a"}};
  EXPECT_EQ(error_of(j), "no error");
}
