// The systemd cgroup driver (`hull-oci --systemd-cgroup`, as runc's and crun's): the
// container's cgroup is a transient scope unit that systemd creates over D-Bus
// (StartTransientUnit, Delegate=yes, the init's PID, the slice), with the resources systemd
// knows given as unit properties; hull's own drivers then write every limit to the scope's
// cgroup files, so that systemd's view and the kernel's agree and what systemd lacks is set
// too. libsystemd (sd-bus) is dlopen'ed on first use: the cgroupfs path never maps it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "oci/spec.h"

namespace hull::cgroup {

struct SystemdName {
  std::string slice;  // "system.slice", "machine-a.slice", "-.slice" (the root)
  std::string unit;   // "hull-ID.scope"
};

// linux.cgroupsPath for the systemd driver, as runc reads it: "slice:prefix:name", the unit
// being "prefix-name.scope" ("name.scope" without a prefix); an empty slice is
// system.slice; an empty cgroupsPath is "system.slice:hull:ID". Throws one line naming
// linux.cgroupsPath and what is wrong with it.
SystemdName parse_systemd_path(const std::string& cgroups_path, const std::string& id);

// "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice", as systemd nests slices; "-.slice" -> "/".
// Throws naming the slice when it is not a valid slice name.
std::string expand_slice(const std::string& slice);

// The scope's cgroup, relative to each hierarchy's root: expand_slice(slice)/unit.
std::string systemd_cgroup_path(const SystemdName& name);

// systemd is the init of this host: /run/systemd/system is a directory (sd_booted(3)).
bool systemd_running();

// A unit property with its D-Bus type and value.
struct UnitProperty {
  std::string name;
  // "t" (uint64), "x" (int64), "u" (uint32), "i" (int32), "b", "s", "au" (PIDs: number),
  // "ay" (a bit mask), "a(ss)" (DeviceAllow)
  std::string type;
  uint64_t number = 0;
  std::string text;
  std::vector<uint8_t> bytes;
  std::vector<std::pair<std::string, std::string>> pairs;
};
// "MemoryMax=104857600", "DeviceAllow=/dev/null rwm,char-pts rwm", for messages and tests.
std::string describe(const UnitProperty& p);

// The properties systemd has for linux.resources: MemoryMax/MemoryLimit, MemoryLow,
// MemorySwapMax, CPUWeight/CPUShares, CPUQuotaPerSecUSec (+ CPUQuotaPeriodUSec), TasksMax,
// AllowedCPUs/AllowedMemoryNodes, IOWeight/BlockIOWeight, DevicePolicy/DeviceAllow. `v2`:
// the host's process-tracking hierarchy is cgroup2 only. `proc_devices`: /proc/devices, to
// name a major with any minor ("char-pts").
std::vector<UnitProperty> resource_properties(const oci::Resources& r, bool v2,
                                              const std::string& proc_devices);

// runc's annotations "org.systemd.property.NAME": VALUE in GVariant's text form, as the
// extra properties of the scope: "uint64 N", "int64 N", "uint32 N", "int32 N", "true",
// "false", 'text' or "text" (TimeoutStopUSec, CollectMode, ...). Throws naming the annotation.
std::vector<UnitProperty> annotation_properties(
    const std::map<std::string, std::string>& annotations);

// "0-2,5" -> the little-endian bit mask systemd's AllowedCPUs takes. Throws naming json_path.
std::vector<uint8_t> cpu_list_mask(const std::string& list, const char* json_path);

}  // namespace hull::cgroup
