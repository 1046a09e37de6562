#include "frontend/docker_values.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "net/shaping.h"
#include "oci/names.h"
#include "oci/spec.h"
#include "util/error.h"
#include "util/passwd.h"
#include "util/rounding.h"
#include "util/strings.h"

namespace hull::frontend {
namespace {

constexpr const char* kDefaultCaps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// "0-3" -> checks both ends; "5" -> checks one.
void check_cpu_range(const std::string& part, const std::string& value, unsigned host_cpus) {
  auto dash = part.find('-');
  auto lo = parse_u64(part.substr(0, dash));
  auto hi = dash == std::string::npos ? lo : parse_u64(part.substr(dash + 1));
  if (!lo || !hi || *lo > *hi)
    fail("--cpuset-cpus: invalid CPU list {} (want e.g. 0-2,4)", quote(value));
  if (*hi >= host_cpus)
    fail("--cpuset-cpus: CPU {} does not exist (this host has CPUs 0-{})", *hi, host_cpus - 1);
}

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

std::vector<GroupEntry> parse_group(const std::string& text) {
  std::vector<GroupEntry> out;
  for (const auto& line : split(text, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 4) continue;
    auto gid = parse_u64(f[2]);
    if (!gid) continue;
    std::vector<std::string> members;
    for (const auto& m : split(f[3], ','))
      if (!m.empty()) members.push_back(m);
    out.push_back({f[0], static_cast<uint32_t>(*gid), members});
  }
  return out;
}

uint32_t parse_id(const std::string& what, const std::string& value) {
  auto v = parse_u64(value);
  if (!v) fail("-u: invalid {} {}", what, quote(value));
  // (uid_t)-1 means "unchanged" to the kernel: root (oci::kMaxProcessId).
  if (*v > oci::kMaxProcessId)
    fail("-u: {} {} is out of range (at most {})", what, value, oci::kMaxProcessId);
  return static_cast<uint32_t>(*v);
}

}  // namespace

int64_t parse_bytes(const std::string& flag, const std::string& value, bool allow_unlimited) {
  if (allow_unlimited && trim(value) == "-1") return -1;
  auto v = parse_size(value);
  if (!v)
    fail("{}: invalid size {} (want a number with an optional unit: b, k, m or g)", flag,
         quote(value));
  return *v;
}

CpuQuota parse_cpus(const std::string& value, unsigned host_cpus) {
  std::string s(trim(value));
  char* end = nullptr;
  double cpus = s.empty() ? NAN : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(cpus))
    fail("--cpus: invalid number {} (want e.g. 0.5 or 2)", quote(value));
  if (cpus < 0.01 || cpus > host_cpus)
    fail("--cpus: {} is outside 0.01..{} (the CPUs of this host)", s, host_cpus);
  CpuQuota q;
  q.quota = round_to_ll(cpus * static_cast<double>(q.period));
  return q;
}

std::string parse_cpuset(const std::string& value, unsigned host_cpus) {
  std::string s(trim(value));
  if (s.empty()) fail("--cpuset-cpus: empty CPU list");
  for (const auto& part : split(s, ',')) check_cpu_range(part, value, host_cpus);
  return s;
}

int64_t parse_int(const std::string& flag, const std::string& value, int64_t min, int64_t max) {
  auto v = parse_i64(trim(value));
  if (!v) fail("{}: invalid number {}", flag, quote(value));
  if (*v < min || *v > max) fail("{}: {} is outside {}..{}", flag, *v, min, max);
  return *v;
}

oci::Rlimit parse_ulimit(const std::string& value) {
  auto eq = value.find('=');
  if (eq == std::string::npos || eq == 0)
    fail("--ulimit: {} is not NAME=SOFT[:HARD] (e.g. nofile=1024:2048)", quote(value));
  std::string name = to_lower(value.substr(0, eq));
  oci::Rlimit rl;
  rl.type = "RLIMIT_" + to_upper(name);
  if (!oci::is_rlimit_name(rl.type)) fail("--ulimit: unknown limit {}", quote(name));
  auto limits = split(value.substr(eq + 1), ':');
  if (limits.size() > 2) fail("--ulimit: {} has more than SOFT:HARD", quote(value));
  auto one = [&](const std::string& v) -> uint64_t {
    if (v == "unlimited" || v == "-1") return UINT64_MAX;
    auto n = parse_u64(v);
    if (!n) fail("--ulimit: invalid limit {} in {}", quote(v), quote(value));
    return *n;
  };
  rl.soft = one(limits[0]);
  rl.hard = limits.size() == 2 ? one(limits[1]) : rl.soft;
  if (rl.soft > rl.hard)
    fail("--ulimit: soft limit {} is above the hard limit {} in {}", rl.soft, rl.hard,
         quote(value));
  return rl;
}

bool valid_volume_name(const std::string& name) {
  auto ok = [](char c, bool first) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           (!first && (c == '_' || c == '.' || c == '-'));
  };
  if (name.size() < 2 || !ok(name[0], true)) return false;
  return std::all_of(name.begin() + 1, name.end(), [&](char c) { return ok(c, false); });
}

Volume parse_volume(const std::string& value) {
  auto parts = split(value, ':');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
    fail("-v: {} is not HOST:CONTAINER[:ro|rw]", quote(value));
  Volume v{parts[0], parts[1], false};
  if (v.source.front() != '/') {
    if (!valid_volume_name(v.source))
      fail(
          "-v: {}: the host side must be an absolute path or a volume name "
          "([a-zA-Z0-9][a-zA-Z0-9_.-]+)",
          quote(value));
    v.named = true;
  }
  if (v.destination.front() != '/')
    fail("-v: {}: the container side must be an absolute path", quote(value));
  if (v.destination == "/") fail("-v: {}: cannot mount over the container's /", quote(value));
  if (parts.size() == 3) {
    for (const auto& opt : split(parts[2], ',')) {
      if (opt == "ro")
        v.readonly = true;
      else if (opt == "rw")
        v.readonly = false;
      else if (opt == "z" || opt == "Z")
        continue;  // SELinux relabelling: nothing to do here
      else
        fail("-v: unknown option {} in {} (want ro or rw)", quote(opt), quote(value));
    }
  }
  return v;
}

Tmpfs parse_tmpfs(const std::string& value) {
  auto colon = value.find(':');
  Tmpfs t;
  t.destination = value.substr(0, colon);
  if (t.destination.empty() || t.destination.front() != '/')
    fail("--tmpfs: {}: the path must be absolute", quote(value));
  if (t.destination == "/") fail("--tmpfs: {}: cannot mount over the container's /", quote(value));
  std::vector<std::string> given;
  if (colon != std::string::npos) {
    for (const auto& o : split(value.substr(colon + 1), ',')) {
      if (o.empty()) fail("--tmpfs: empty option in {}", quote(value));
      if (o.rfind("size=", 0) == 0) parse_bytes("--tmpfs size", o.substr(5));
      given.push_back(o);
    }
  }
  // docker's defaults, each unless its opposite was given.
  const std::pair<const char*, const char*> defaults[] = {
      {"noexec", "exec"}, {"nosuid", "suid"}, {"nodev", "dev"}};
  for (const auto& [on, off] : defaults)
    if (!contains(given, on) && !contains(given, off)) t.options.push_back(on);
  t.options.insert(t.options.end(), given.begin(), given.end());
  return t;
}

DeviceRate parse_device_rate(const std::string& flag, const std::string& value, bool iops) {
  auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == value.size())
    fail("{}: {} is not DEVICE:RATE (e.g. /dev/sda:1mb)", flag, quote(value));
  DeviceRate d;
  d.device = value.substr(0, colon);
  std::string rate = value.substr(colon + 1);
  if (d.device.front() != '/')
    fail("{}: {}: the device must be an absolute path", flag, quote(value));
  if (iops) {
    auto n = parse_u64(rate);
    if (!n) fail("{}: invalid rate {} (want a number of operations per second)", flag, quote(rate));
    d.rate = *n;
  } else {
    d.rate = static_cast<uint64_t>(parse_bytes(flag, rate));
  }
  if (d.rate == 0) fail("{}: the rate must be greater than 0 in {}", flag, quote(value));
  return d;
}

std::string normalize_capability(const std::string& flag, const std::string& value) {
  std::string name = to_upper(trim(value));
  if (name == "ALL") return name;
  if (name.rfind("CAP_", 0) != 0) name = "CAP_" + name;
  if (!oci::is_capability_name(name)) fail("{}: unknown capability {}", flag, quote(value));
  return name;
}

std::vector<std::string> effective_capabilities(const std::vector<std::string>& add,
                                                const std::vector<std::string>& drop,
                                                bool privileged) {
  std::vector<std::string> all(oci::capability_names().begin(), oci::capability_names().end());
  if (privileged) return all;
  std::vector<std::string> caps;
  if (contains(add, "ALL")) {
    caps = all;
  } else if (!contains(drop, "ALL")) {
    caps.assign(std::begin(kDefaultCaps), std::end(kDefaultCaps));
  }
  if (!contains(add, "ALL"))
    caps.erase(std::remove_if(caps.begin(), caps.end(), [&](auto& c) { return contains(drop, c); }),
               caps.end());
  for (const auto& c : add)
    if (c != "ALL" && !contains(caps, c)) caps.push_back(c);
  if (contains(add, "ALL"))
    caps.erase(std::remove_if(caps.begin(), caps.end(), [&](auto& c) { return contains(drop, c); }),
               caps.end());
  // Kernel order, as `capsh --print` and /proc/PID/status list them.
  std::vector<std::string> ordered;
  for (const auto& c : all)
    if (contains(caps, c)) ordered.push_back(c);
  return ordered;
}

void apply_security_opt(SecurityOpts& out, const std::string& value) {
  // docker accepts both "key=value" and the older "key:value".
  auto sep = value.find_first_of("=:");
  std::string key = value.substr(0, sep);
  std::string arg = sep == std::string::npos ? "" : value.substr(sep + 1);
  if (key == "seccomp") {
    if (arg.empty())
      fail("--security-opt: {}: seccomp wants a profile file or unconfined", quote(value));
    out.seccomp = arg;
  } else if (key == "no-new-privileges") {
    if (arg.empty() || arg == "true")
      out.no_new_privileges = true;
    else if (arg == "false")
      out.no_new_privileges = false;
    else
      fail("--security-opt: {}: want no-new-privileges=true or false", quote(value));
  } else if (key == "apparmor" || key == "label") {
    fail("--security-opt: {}: {} is not supported by hull", quote(value), key);
  } else {
    fail("--security-opt: unknown option {} (want seccomp=FILE|unconfined or no-new-privileges)",
         quote(value));
  }
}

std::optional<std::string> parse_env(const std::string& flag, const std::string& value) {
  auto eq = value.find('=');
  if (eq == 0 || value.empty()) fail("{}: {} is not NAME=VALUE", flag, quote(value));
  if (eq != std::string::npos) return value;
  const char* host = std::getenv(value.c_str());
  if (!host) return std::nullopt;
  return value + "=" + host;
}

std::vector<std::string> parse_env_file(const std::string& path, const std::string& text) {
  std::vector<std::string> out;
  auto lines = split(text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line(trim(lines[i]));
    if (line.empty() || line.front() == '#') continue;
    if (line.find_first_of(" \t") < line.find('='))
      fail("--env-file {}: line {}: {} has whitespace in the variable name", path, i + 1,
           quote(line));
    if (auto e = parse_env(fmt::format("--env-file {}: line {}", path, i + 1), line))
      out.push_back(*e);
  }
  return out;
}

void set_env(std::vector<std::string>& env, const std::string& entry) {
  std::string name = entry.substr(0, entry.find('=') + 1);
  for (auto& e : env)
    if (e.compare(0, name.size(), name) == 0) {
      e = entry;
      return;
    }
  env.push_back(entry);
}

std::pair<std::string, std::string> parse_sysctl(const std::string& value) {
  auto eq = value.find('=');
  if (eq == std::string::npos || eq == 0) fail("--sysctl: {} is not NAME=VALUE", quote(value));
  return {value.substr(0, eq), value.substr(eq + 1)};
}

void check_hostname(const std::string& value) {
  if (value.empty() || value.size() > 64)
    fail("--hostname: {} must be 1 to 64 characters", quote(value));
  for (char c : value)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'))
      fail("--hostname: {} may only hold letters, digits, '-' and '.'", quote(value));
  if (value.front() == '-' || value.front() == '.')
    fail("--hostname: {} must start with a letter or digit", quote(value));
}

void check_container_name(const std::string& value) {
  bool ok =
      !value.empty() && value.size() <= 128 && std::isalnum(static_cast<unsigned char>(value[0]));
  for (char c : value)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  if (!ok)
    fail("--name: invalid name {} (letters, digits and _.- only, starting with a letter or digit)",
         quote(value));
}

ResolvedUser resolve_user(const std::string& spec, const std::string& passwd,
                          const std::string& group) {
  auto colon = spec.find(':');
  std::string user = spec.substr(0, colon);
  std::string grp = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (user.empty()) fail("-u: {} names no user", quote(spec));
  auto users = parse_passwd(passwd);
  auto groups = parse_group(group);
  ResolvedUser r;
  const PasswdEntry* entry = nullptr;
  if (parse_u64(user)) {
    r.uid = parse_id("uid", user);
    for (const auto& e : users)
      if (e.uid == r.uid) entry = &e;
    // A numeric uid need not exist in /etc/passwd; its group is then 0, as in docker.
    r.gid = entry ? entry->gid : 0;
  } else {
    for (const auto& e : users)
      if (e.name == user) entry = &e;
    if (!entry) fail("-u: no user {} in the container's /etc/passwd", quote(user));
    r.uid = entry->uid;
    r.gid = entry->gid;
  }
  if (entry) {
    r.home = entry->home.empty() ? "/" : entry->home;
    r.shell = entry->shell;
    for (const auto& g : groups)
      if (contains(g.members, entry->name) && g.gid != r.gid) r.additional_gids.push_back(g.gid);
  }
  if (!grp.empty()) {
    if (parse_u64(grp)) {
      r.gid = parse_id("gid", grp);
    } else {
      auto it = std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.name == grp; });
      if (it == groups.end()) fail("-u: no group {} in the container's /etc/group", quote(grp));
      r.gid = it->gid;
    }
  }
  return r;
}

uint64_t parse_net_rate(const std::string& rate, const std::string& burst, uint32_t& burst_bytes) {
  burst_bytes = 0;
  if (!burst.empty()) {
    auto b = parse_size(burst);
    if (!b || *b <= 0 || *b > INT32_MAX)
      fail("--net-burst {}: expected a size like 32k", quote(burst));
    if (rate.empty()) fail("--net-burst needs --net-rate");
    burst_bytes = static_cast<uint32_t>(*b);
  }
  if (rate.empty()) return 0;
  auto r = net::parse_rate(rate);
  if (!r) fail("--net-rate {}: expected a rate like 10mbit, 512kbit or 1gbit", quote(rate));
  return *r;
}

}  // namespace hull::frontend
