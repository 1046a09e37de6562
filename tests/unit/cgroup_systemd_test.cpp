// The systemd driver's pure half: cgroupsPath forms as runc reads them, slices nested as
// systemd names them, and linux.resources as unit properties. systemd itself is the VM
// suite's business (tests/integration/test_systemd.py under tests/vm/run-suite --systemd).
#include <gtest/gtest.h>

#include "cgroup/systemd.h"
#include "util/error.h"

namespace hull::cgroup {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SystemdPath, SlicePrefixName) {
  auto n = parse_systemd_path("machine.slice:libpod:abc", "id");
  EXPECT_EQ(n.slice, "machine.slice");
  EXPECT_EQ(n.unit, "libpod-abc.scope");
  EXPECT_EQ(systemd_cgroup_path(n), "/machine.slice/libpod-abc.scope");
}

TEST(SystemdPath, EmptyIsSystemSliceWithHullPrefix) {
  auto n = parse_systemd_path("", "c1");
  EXPECT_EQ(n.slice, "system.slice");
  EXPECT_EQ(n.unit, "hull-c1.scope");
  EXPECT_EQ(systemd_cgroup_path(n), "/system.slice/hull-c1.scope");
}

TEST(SystemdPath, EmptySliceIsSystemSlice) {
  auto n = parse_systemd_path(":cri-containerd:x1", "id");
  EXPECT_EQ(systemd_cgroup_path(n), "/system.slice/cri-containerd-x1.scope");
}

TEST(SystemdPath, EmptyPrefixIsTheNameAlone) {
  EXPECT_EQ(parse_systemd_path("system.slice::name", "id").unit, "name.scope");
}

TEST(SystemdPath, NestedSliceIsExpanded) {
  auto n = parse_systemd_path("kubepods-burstable-pod12.slice:cri-containerd:c", "id");
  EXPECT_EQ(systemd_cgroup_path(n),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice/"
            "cri-containerd-c.scope");
}

TEST(SystemdPath, RootSlice) {
  EXPECT_EQ(expand_slice("-.slice"), "/");
  EXPECT_EQ(systemd_cgroup_path(parse_systemd_path("-.slice:p:n", "id")), "/p-n.scope");
}

TEST(SystemdPath, RefusesWhatIsNotSliceColonPrefixColonName) {
  EXPECT_NE(error_of([] { parse_systemd_path("/a/b", "id"); }).find("slice:prefix:name"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_systemd_path("a:b", "id"); }).find("linux.cgroupsPath"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_systemd_path("a:b:c:d", "id"); }).find("not a systemd path"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_systemd_path("system.slice:p:", "id"); }).find("name"),
            std::string::npos);
}

TEST(SystemdPath, RefusesInvalidSlices) {
  for (const char* bad : {"machine:p:n", ".slice:p:n", "a/b.slice:p:n", "a--b.slice:p:n",
                          "-a.slice:p:n", "a-.slice:p:n", "a b.slice:p:n"}) {
    std::string e = error_of([&] { parse_systemd_path(bad, "id"); });
    EXPECT_NE(e.find("is not a valid slice name"), std::string::npos) << bad << ": " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos);
  }
}

TEST(SystemdPath, RefusesBadUnitNames) {
  EXPECT_NE(
      error_of([] { parse_systemd_path("system.slice:p:a/b", "id"); }).find("letters, digits"),
      std::string::npos);
  EXPECT_NE(error_of([] {
              parse_systemd_path("system.slice:p:" + std::string(260, 'x'), "id");
            }).find("255"),
            std::string::npos);
  EXPECT_NE(
      error_of([] { parse_systemd_path("system.slice:p:pod.slice", "id"); }).find("not supported"),
      std::string::npos);
}

std::map<std::string, std::string> described(const std::vector<UnitProperty>& props) {
  std::map<std::string, std::string> out;
  for (const auto& p : props) {
    std::string d = describe(p);
    out[p.name] = d.substr(d.find('=') + 1);
  }
  return out;
}

TEST(SystemdProperties, V2Resources) {
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = 100 << 20;
  r.memory->reservation = 50 << 20;
  r.memory->swap = 150 << 20;
  r.cpu = oci::CpuResources{};
  r.cpu->shares = 1024;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.cpu->cpus = "0-1,3";
  r.pids_limit = 42;
  r.block_io = oci::BlockIoResources{};
  r.block_io->weight = 500;
  auto p = described(resource_properties(r, true, ""));
  EXPECT_EQ(p["MemoryMax"], "104857600");
  EXPECT_EQ(p["MemoryLow"], "52428800");
  EXPECT_EQ(p["MemorySwapMax"], "52428800");
  EXPECT_EQ(p["CPUWeight"], "39");
  EXPECT_EQ(p["CPUQuotaPeriodUSec"], "100000");
  EXPECT_EQ(p["CPUQuotaPerSecUSec"], "500000");
  EXPECT_EQ(p["AllowedCPUs"], "0b");
  EXPECT_EQ(p["TasksMax"], "42");
  EXPECT_EQ(p["IOWeight"], "4950");  // linear 10..1000 -> 1..10000, as io.weight gets it
  EXPECT_EQ(p.count("DevicePolicy"), 0u);
}

TEST(SystemdProperties, V1Names) {
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = 1 << 20;
  r.cpu = oci::CpuResources{};
  r.cpu->shares = 512;
  r.block_io = oci::BlockIoResources{};
  r.block_io->weight = 300;
  auto p = described(resource_properties(r, false, ""));
  EXPECT_EQ(p["MemoryLimit"], "1048576");
  EXPECT_EQ(p["CPUShares"], "512");
  EXPECT_EQ(p["BlockIOWeight"], "300");
  EXPECT_EQ(p.count("MemoryMax"), 0u);
}

TEST(SystemdProperties, UnlimitedAndUnset) {
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = -1;
  r.memory->reservation = 0;  // docker's "not set"
  r.pids_limit = -1;
  r.cpu = oci::CpuResources{};
  r.cpu->quota = -1;
  auto p = described(resource_properties(r, true, ""));
  EXPECT_EQ(p["MemoryMax"], "infinity");
  EXPECT_EQ(p.count("MemoryLow"), 0u);
  EXPECT_EQ(p["TasksMax"], "infinity");
  EXPECT_EQ(p["CPUQuotaPerSecUSec"], "infinity");
}

TEST(SystemdProperties, QuotaRoundsUpToWholePercent) {
  oci::Resources r;
  r.cpu = oci::CpuResources{};
  r.cpu->quota = 12345;
  r.cpu->period = 100000;
  EXPECT_EQ(described(resource_properties(r, true, ""))["CPUQuotaPerSecUSec"], "130000");
}

TEST(SystemdProperties, DevicesDefaultDenyIsStrictWithTheAllowedList) {
  oci::Resources r;
  r.devices.push_back({false, "a", std::nullopt, std::nullopt, "rwm"});
  r.devices.push_back({true, "c", 10, 200, "rw"});
  r.devices.push_back({true, "b", 7, std::nullopt, "r"});
  std::string proc_devices = "Character devices:\n  1 mem\n136 pts\n\nBlock devices:\n  7 loop\n";
  auto p = described(resource_properties(r, true, proc_devices));
  EXPECT_EQ(p["DevicePolicy"], "strict");
  const std::string& allow = p["DeviceAllow"];
  EXPECT_NE(allow.find("/dev/char/10:200 rw"), std::string::npos) << allow;
  EXPECT_NE(allow.find("block-loop r"), std::string::npos) << allow;
  // hull's default devices come after the config's: /dev/null, the pts.
  EXPECT_NE(allow.find("/dev/char/1:3 rwm"), std::string::npos) << allow;
  EXPECT_NE(allow.find("char-pts rwm"), std::string::npos) << allow;
}

TEST(SystemdProperties, DevicesDefaultAllowIsAuto) {
  oci::Resources r;
  r.devices.push_back({true, "a", std::nullopt, std::nullopt, "rwm"});
  auto p = described(resource_properties(r, true, ""));
  EXPECT_EQ(p["DevicePolicy"], "auto");
  EXPECT_EQ(p.count("DeviceAllow"), 0u);
}

TEST(SystemdProperties, Annotations) {
  auto p =
      described(annotation_properties({{"org.systemd.property.TimeoutStopUSec", "uint64 123456789"},
                                       {"org.systemd.property.CollectMode", "'inactive-or-failed'"},
                                       {"org.systemd.property.CPUQuotaPerSecUSec", "uint64 20000"},
                                       {"org.systemd.property.SendSIGKILL", "false"},
                                       {"org.systemd.property.Nice", "int32 -5"},
                                       {"io.other", "uint64 1"}}));
  EXPECT_EQ(p.size(), 5u);
  EXPECT_EQ(p["TimeoutStopUSec"], "123456789");
  EXPECT_EQ(p["CollectMode"], "inactive-or-failed");
  EXPECT_EQ(p["SendSIGKILL"], "no");
  EXPECT_EQ(p["Nice"], "-5");
  for (const char* bad : {"123", "uint64 x", "uint32 99999999999", "[1, 2]"}) {
    std::string e = error_of([&] { annotation_properties({{"org.systemd.property.X", bad}}); });
    EXPECT_NE(e.find("annotations: org.systemd.property.X"), std::string::npos) << bad << ": " << e;
  }
  EXPECT_NE(error_of([] {
              annotation_properties({{"org.systemd.property.a/b", "true"}});
            }).find("names no property"),
            std::string::npos);
}

TEST(SystemdProperties, CpuListMask) {
  EXPECT_EQ(cpu_list_mask("0", "x"), (std::vector<uint8_t>{1}));
  EXPECT_EQ(cpu_list_mask("0-2,9", "x"), (std::vector<uint8_t>{7, 2}));
  EXPECT_NE(error_of([] {
              cpu_list_mask("3-1", "linux.resources.cpu.cpus");
            }).find("linux.resources.cpu.cpus"),
            std::string::npos);
}

}  // namespace
}  // namespace hull::cgroup
