// serialize_spec is the inverse of parse_spec: a config.json that uses every field comes back
// unchanged through parse -> serialize, and a Spec survives serialize -> parse.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "oci/generate.h"
#include "oci/parse.h"
#include "oci/serialize.h"

using hull::oci::parse_spec;
using hull::oci::serialize_spec;
using json = nlohmann::json;

namespace {

// Every field parse_spec reads, each with a value that is not its default.
const char* kFull = R"({
  "ociVersion": "1.2.0",
  "process": {
    "terminal": true,
    "consoleSize": {"height": 40, "width": 120},
    "user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 6], "username": "alice"},
    "args": ["sh", "-c", "echo hi"],
    "env": ["PATH=/bin", "A=b=c"],
    "cwd": "/work",
    "capabilities": {
      "bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"], "inheritable": ["CAP_CHOWN"],
      "permitted": ["CAP_KILL", "CAP_CHOWN"], "ambient": ["CAP_KILL"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 2048, "soft": 1024}, {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}],
    "noNewPrivileges": true,
    "apparmorProfile": "hull-default",
    "oomScoreAdj": -17,
    "scheduler": {"policy": "SCHED_FIFO", "nice": 3, "priority": 2, "flags": ["SCHED_FLAG_RESET_ON_FORK"],
                  "runtime": 10, "deadline": 20, "period": 30},
    "selinuxLabel": "system_u:system_r:container_t:s0",
    "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
    "execCPUAffinity": {"initial": "0-1", "final": "1"}
  },
  "root": {"path": "/var/lib/rootfs", "readonly": true},
  "hostname": "box",
  "domainname": "example.org",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro", "nosuid"],
     "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
     "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}
  ],
  "hooks": {
    "prestart": [{"path": "/bin/pre", "args": ["pre", "1"], "env": ["X=1"], "timeout": 5}],
    "createRuntime": [{"path": "/bin/cr"}],
    "createContainer": [{"path": "/bin/cc"}],
    "startContainer": [{"path": "/bin/sc"}],
    "poststart": [{"path": "/bin/ps"}],
    "poststop": [{"path": "/bin/pst", "timeout": 1}]
  },
  "annotations": {"org.example.key": "value", "io.github.hull.test": "1"},
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "network", "path": "/run/netns/x"}, {"type": "mount"},
                   {"type": "ipc"}, {"type": "uts"}, {"type": "user"}, {"type": "cgroup"}, {"type": "time"}],
    "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    "timeOffsets": {"monotonic": {"secs": 100, "nanosecs": 5}, "boottime": {"secs": -3, "nanosecs": 0}},
    "devices": [{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0},
                {"type": "p", "path": "/dev/pipe", "major": 0, "minor": 0}],
    "cgroupsPath": "/hull/full",
    "resources": {
      "devices": [{"allow": false, "type": "a", "access": "rwm"},
                  {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
      "memory": {"limit": 268435456, "reservation": 1048576, "swap": 536870912, "kernel": -1, "kernelTCP": 4096,
                 "swappiness": 10, "disableOOMKiller": true, "useHierarchy": true, "checkBeforeUpdate": true},
      "cpu": {"shares": 512, "quota": 50000, "burst": 1000, "period": 100000, "realtimeRuntime": 950000,
              "realtimePeriod": 1000000, "cpus": "0-1", "mems": "0", "idle": 1},
      "pids": {"limit": 64},
      "blockIO": {
        "weight": 500, "leafWeight": 300,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 200}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
        "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2097152}],
        "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
        "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 200}]
      },
      "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
      "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
      "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
      "unified": {"memory.high": "1073741824"}
    },
    "rootfsPropagation": "rslave",
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "listenerPath": "/run/listener.sock", "listenerMetadata": "meta",
      "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
         "args": [{"index": 0, "value": 8, "valueTwo": 9, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}
      ]
    },
    "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "4096"},
    "maskedPaths": ["/proc/kcore"],
    "readonlyPaths": ["/proc/sys"],
    "mountLabel": "system_u:object_r:container_file_t:s0",
    "personality": {"domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE"]},
    "netDevices": {"eth1": {"name": "net1"}, "eth2": {}}
  }
})";

}  // namespace

TEST(Serialize, EveryFieldComesBackUnchanged) {
  std::string out = serialize_spec(parse_spec(kFull));
  EXPECT_EQ(json::parse(out), json::parse(kFull)) << out;
}

TEST(Serialize, MinimalSpecStaysMinimal) {
  const char* minimal =
      R"({"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"},
    "root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"mount"}]}})";
  EXPECT_EQ(json::parse(serialize_spec(parse_spec(minimal))), json::parse(minimal));
}

TEST(Serialize, DefaultSpecSurvivesTheRoundTrip) {
  for (bool rootless : {false, true}) {
    hull::oci::SpecOptions o;
    o.rootless = rootless;
    o.host_uid = 1000;
    o.host_gid = 1000;
    std::string once = serialize_spec(parse_spec(hull::oci::default_spec_json(o)));
    EXPECT_EQ(serialize_spec(parse_spec(once)), once);
  }
}

TEST(Serialize, OneLineWhenAsked) {
  std::string out = serialize_spec(parse_spec(kFull), -1);
  EXPECT_EQ(out.find('\n'), std::string::npos);
}
