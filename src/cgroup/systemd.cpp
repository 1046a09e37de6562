// The systemd driver's pure half: unit and slice names, and linux.resources as unit
// properties (systemd_driver.cpp talks to systemd).
#include "cgroup/systemd.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>

#include "cgroup/controller.h"
#include "cgroup/device_filter.h"
#include "util/error.h"
#include "util/strings.h"

namespace hull::cgroup {
namespace {

constexpr uint64_t kInfinity = UINT64_MAX;  // systemd's "infinity" for limits and USec
constexpr uint64_t kDefaultPeriod = 100000;

// systemd's unit name characters (unit_name_is_valid): letters, digits, ":-_.\\".
bool unit_chars_ok(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '-' || c == '_' || c == '.' || c == '\\';
  });
}

UnitProperty number(const char* name, uint64_t v) {
  UnitProperty p;
  p.name = name;
  p.type = "t";
  p.number = v;
  return p;
}

UnitProperty text(const char* name, std::string v) {
  UnitProperty p;
  p.name = name;
  p.type = "s";
  p.text = std::move(v);
  return p;
}

// A limit in bytes or tasks: -1 is infinity, 0 "not set" (docker's and containerd's
// habit), anything else as given.
void add_limit(std::vector<UnitProperty>& out, const char* name, const std::optional<int64_t>& v) {
  if (!v || *v == 0) return;
  out.push_back(number(name, *v < 0 ? kInfinity : static_cast<uint64_t>(*v)));
}

std::string access_text(unsigned access) {
  std::string s;
  if (access & BPF_DEVCG_ACC_READ) s += 'r';
  if (access & BPF_DEVCG_ACC_WRITE) s += 'w';
  if (access & BPF_DEVCG_ACC_MKNOD) s += 'm';
  return s;
}

// /proc/devices: "Character devices:\n  1 mem\n136 pts\n\nBlock devices:\n  7 loop\n".
std::string device_group(const std::string& proc_devices, char type, uint32_t major) {
  bool in_section = false;
  for (const auto& line : split(proc_devices, '\n')) {
    if (line.rfind("Character devices:", 0) == 0)
      in_section = type == 'c';
    else if (line.rfind("Block devices:", 0) == 0)
      in_section = type == 'b';
    else if (in_section) {
      auto fields = split(std::string(trim(line)), ' ');
      if (fields.size() == 2 && parse_u64(fields[0]) == major) return fields[1];
    }
  }
  return "";
}

void add_devices(std::vector<UnitProperty>& out, const std::vector<oci::DeviceRule>& config,
                 const std::string& proc_devices) {
  DeviceRules rules = device_rules(config);
  // A default of allow (with or without deny exceptions) is systemd's "auto" without a
  // list: systemd restricts nothing and hull's own filter does the rest. A default of deny
  // is "strict" with the allowed devices listed: on v1 systemd writes that list again whenever
  // it re-applies the unit, and an empty "auto" would be devices.allow "a".
  if (rules.default_allow) {
    out.push_back(text("DevicePolicy", "auto"));
    return;
  }
  out.push_back(text("DevicePolicy", "strict"));
  UnitProperty allow;
  allow.name = "DeviceAllow";
  allow.type = "a(ss)";
  for (const auto& r : rules.rules) {
    if (!r.allow) continue;  // a deny after an allow: systemd cannot say it; hull's filter does
    std::string kind = r.type == 'b' ? "block" : "char";
    std::string node;
    if (!r.major) {
      node = kind + "-*";
    } else if (!r.minor) {
      std::string group = device_group(proc_devices, r.type, *r.major);
      if (group.empty()) continue;  // no driver has that major: nothing to allow yet
      node = kind + "-" + group;
    } else {
      node = fmt::format("/dev/{}/{}:{}", kind, *r.major, *r.minor);
    }
    allow.pairs.emplace_back(node, access_text(r.access));
  }
  out.push_back(std::move(allow));
}

}  // namespace

std::string expand_slice(const std::string& slice) {
  const std::string suffix = ".slice";
  auto invalid = [&](const char* why) -> std::string {
    fail("linux.cgroupsPath: slice {} is not a valid slice name ({})", quote(slice), why);
  };
  if (slice.size() <= suffix.size() ||
      slice.compare(slice.size() - suffix.size(), suffix.size(), suffix) != 0)
    return invalid("NAME.slice, dashes for nesting: machine-a.slice");
  if (slice.find('/') != std::string::npos)
    return invalid("no slashes: systemd nests slices with dashes");
  if (!unit_chars_ok(slice) || slice.size() > 255)
    return invalid("letters, digits and :-_.\\ only");
  std::string name = slice.substr(0, slice.size() - suffix.size());
  if (name == "-") return "/";
  std::string path, prefix;
  for (const auto& part : split(name, '-')) {
    if (part.empty()) return invalid("an empty part between dashes");
    path += "/" + prefix + part + suffix;
    prefix += part + "-";
  }
  return path;
}

SystemdName parse_systemd_path(const std::string& cgroups_path, const std::string& id) {
  if (cgroups_path.empty()) return {"system.slice", "hull-" + id + ".scope"};
  auto parts = split(cgroups_path, ':');
  if (parts.size() != 3)
    fail("linux.cgroupsPath: {} is not a systemd path: --systemd-cgroup takes slice:prefix:name",
         quote(cgroups_path));
  SystemdName n;
  n.slice = parts[0].empty() ? "system.slice" : parts[0];
  expand_slice(n.slice);
  const std::string& prefix = parts[1];
  const std::string& name = parts[2];
  if (name.empty())
    fail("linux.cgroupsPath: {}: the name (after the second colon) is empty", quote(cgroups_path));
  if (name.size() > 6 && name.compare(name.size() - 6, 6, ".slice") == 0)
    fail(
        "linux.cgroupsPath: {}: a slice as the container's own unit is not supported; hull makes a "
        "scope",
        quote(cgroups_path));
  n.unit = prefix.empty() ? name + ".scope" : prefix + "-" + name + ".scope";
  if (!unit_chars_ok(prefix + name))
    fail("linux.cgroupsPath: {}: unit {} may hold letters, digits and :-_.\\ only",
         quote(cgroups_path), quote(n.unit));
  if (n.unit.size() > 255)
    fail("linux.cgroupsPath: {}: unit name {} is longer than systemd's 255 characters",
         quote(cgroups_path), quote(n.unit));
  return n;
}

std::string systemd_cgroup_path(const SystemdName& name) {
  std::string slice = expand_slice(name.slice);
  return (slice == "/" ? "" : slice) + "/" + name.unit;
}

bool systemd_running() {
  struct stat st;
  return ::lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

std::string describe(const UnitProperty& p) {
  std::string v;
  if (p.type == "t")
    v = p.number == kInfinity ? "infinity" : std::to_string(p.number);
  else if (p.type == "u" || p.type == "au")
    v = std::to_string(p.number);
  else if (p.type == "x" || p.type == "i")
    v = std::to_string(static_cast<int64_t>(p.number));
  else if (p.type == "b")
    v = p.number ? "yes" : "no";
  else if (p.type == "s")
    v = p.text;
  else if (p.type == "ay") {
    for (size_t i = 0; i < p.bytes.size(); ++i)
      v += fmt::format("{}{:02x}", i ? " " : "", p.bytes[i]);
  } else if (p.type == "a(ss)") {
    for (size_t i = 0; i < p.pairs.size(); ++i)
      v += fmt::format("{}{} {}", i ? "," : "", p.pairs[i].first, p.pairs[i].second);
  }
  return p.name + "=" + v;
}

std::vector<UnitProperty> annotation_properties(
    const std::map<std::string, std::string>& annotations) {
  const std::string prefix = "org.systemd.property.";
  std::vector<UnitProperty> out;
  for (const auto& annotation : annotations) {
    const std::string& key = annotation.first;  // clang 14 cannot capture a structured binding
    const std::string& raw = annotation.second;
    if (key.rfind(prefix, 0) != 0) continue;
    UnitProperty p;
    p.name = key.substr(prefix.size());
    auto bad = [&](const char* why) { fail("annotations: {}: {} {}", key, quote(raw), why); };
    if (p.name.empty() || !unit_chars_ok(p.name)) bad("names no property");
    std::string v(trim(raw));
    auto sp = v.find(' ');
    std::string word = v.substr(0, sp);
    if (v == "true" || v == "false") {
      p.type = "b";
      p.number = v == "true";
    } else if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front()) {
      p.type = "s";
      p.text = v.substr(1, v.size() - 2);
    } else if (sp != std::string::npos && (word == "uint64" || word == "uint32")) {
      auto n = parse_u64(trim(v.substr(sp + 1)));
      if (!n || (word == "uint32" && *n > UINT32_MAX)) bad("is not a number of that type");
      p.type = word == "uint64" ? "t" : "u";
      p.number = *n;
    } else if (sp != std::string::npos && (word == "int64" || word == "int32")) {
      auto n = parse_i64(trim(v.substr(sp + 1)));
      if (!n || (word == "int32" && (*n < INT32_MIN || *n > INT32_MAX)))
        bad("is not a number of that type");
      p.type = word == "int64" ? "x" : "i";
      p.number = static_cast<uint64_t>(*n);
    } else {
      bad("is not a value hull can give systemd (uint64 N, int64 N, uint32 N, int32 N, true, "
          "false, 'text')");
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<uint8_t> cpu_list_mask(const std::string& list, const char* json_path) {
  std::vector<uint8_t> mask;
  for (const auto& part : split(std::string(trim(list)), ',')) {
    auto dash = part.find('-');
    auto lo = parse_u64(trim(part.substr(0, dash)));
    auto hi = dash == std::string::npos ? lo : parse_u64(trim(part.substr(dash + 1)));
    if (!lo || !hi || *hi < *lo || *hi > 65535)
      fail("{}: {} is not a list of numbers and ranges (0-2,5)", json_path, quote(list));
    for (uint64_t c = *lo; c <= *hi; ++c) {
      if (mask.size() <= c / 8) mask.resize(c / 8 + 1, 0);
      mask[c / 8] |= static_cast<uint8_t>(1u << (c % 8));
    }
  }
  return mask;
}

std::vector<UnitProperty> resource_properties(const oci::Resources& r, bool v2,
                                              const std::string& proc_devices) {
  std::vector<UnitProperty> out;
  if (const auto& m = r.memory) {
    add_limit(out, v2 ? "MemoryMax" : "MemoryLimit", m->limit);
    if (v2) {
      add_limit(out, "MemoryLow", m->reservation);
      // v1's memory+swap against v2's swap alone, as the cgroup files get it.
      if (is_set(m->swap)) {
        int64_t swap = swap_to_v2(*m->swap, m->limit.value_or(0));
        if (swap != 0)
          out.push_back(
              number("MemorySwapMax", swap < 0 ? kInfinity : static_cast<uint64_t>(swap)));
      }
    }
  }
  if (const auto& c = r.cpu) {
    if (is_set(c->shares))
      out.push_back(v2 ? number("CPUWeight", shares_to_weight(*c->shares))
                       : number("CPUShares", *c->shares));
    uint64_t period = c->period.value_or(0);
    if (period) out.push_back(number("CPUQuotaPeriodUSec", period));
    if (is_set(c->quota) || period) {
      // systemd keeps the quota as a whole percent of a CPU: round up to the next 10 ms per
      // second, so the exact cpu.max written afterwards stays within it (runc does the same).
      uint64_t per_sec = kInfinity;
      if (is_set(c->quota) && *c->quota > 0) {
        per_sec = static_cast<uint64_t>(*c->quota) * 1000000 / (period ? period : kDefaultPeriod);
        if (per_sec % 10000) per_sec = (per_sec / 10000 + 1) * 10000;
      }
      out.push_back(number("CPUQuotaPerSecUSec", per_sec));
    }
    if (!c->cpus.empty()) {
      // Built in place: GCC 12 -O3 sees a local's strings as maybe uninitialized when moved.
      UnitProperty& p = out.emplace_back();
      p.name = "AllowedCPUs";
      p.type = "ay";
      p.bytes = cpu_list_mask(c->cpus, "linux.resources.cpu.cpus");
    }
    if (!c->mems.empty()) {
      // Built in place: GCC 12 -O3 sees a local's strings as maybe uninitialized when moved.
      UnitProperty& p = out.emplace_back();
      p.name = "AllowedMemoryNodes";
      p.type = "ay";
      p.bytes = cpu_list_mask(c->mems, "linux.resources.cpu.mems");
    }
  }
  add_limit(out, "TasksMax", r.pids_limit);
  if (r.block_io && is_set(r.block_io->weight)) {
    uint64_t w = *r.block_io->weight;
    out.push_back(v2 ? number("IOWeight", blkio_weight_to_io_weight(w))
                     : number("BlockIOWeight", w));
  }
  if (!r.devices.empty()) add_devices(out, r.devices, proc_devices);
  return out;
}

}  // namespace hull::cgroup
