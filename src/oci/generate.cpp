#include "oci/generate.h"

#include <nlohmann/json.hpp>

#include "oci/names.h"
#include "oci/seccomp_default.h"
#include "oci/serialize.h"
#include "oci/state.h"

namespace hull::oci {
namespace {

using ojson = nlohmann::ordered_json;

ojson mount(const char* dest, const char* type, const char* source, std::vector<std::string> options) {
  ojson m;
  m["destination"] = dest;
  m["type"] = type;
  m["source"] = source;
  if (!options.empty()) m["options"] = options;
  return m;
}

}  // namespace

std::string default_spec_json(const SpecOptions& o) {
  std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  ojson spec;
  spec["ociVersion"] = kSpecVersion;
  ojson process;
  process["terminal"] = true;
  process["user"] = {{"uid", 0}, {"gid", 0}};
  process["args"] = {"sh"};
  process["env"] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  process["cwd"] = "/";
  process["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  process["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}};
  process["noNewPrivileges"] = true;
  spec["process"] = process;
  spec["root"] = {{"path", "rootfs"}, {"readonly", true}};
  spec["hostname"] = "hull";
  ojson mounts = ojson::array();
  mounts.push_back(mount("/proc", "proc", "proc", {}));
  mounts.push_back(mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  if (o.rootless) {
    mounts.push_back(mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}));
  } else {
    mounts.push_back(mount("/dev/pts", "devpts", "devpts",
                           {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  }
  mounts.push_back(mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  if (o.rootless) {
    // Without a network namespace of its own a user namespace may not mount sysfs: bind it.
    mounts.push_back(mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
  } else {
    mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
    mounts.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  }
  spec["mounts"] = mounts;
  ojson linux;
  if (!o.rootless) linux["resources"] = {{"devices", {{{"allow", false}, {"access", "rwm"}}}}};
  ojson ns = ojson::array();
  for (const char* t : {"pid", "network", "ipc", "uts", "mount", "cgroup"}) {
    if (o.rootless && std::string(t) == "network") continue;
    if (!o.cgroup_ns && std::string(t) == "cgroup") continue;
    ns.push_back({{"type", t}});
  }
  if (o.rootless) {
    ns.push_back({{"type", "user"}});
    // Root of the container is the user; with subordinate ids (newuidmap) the rest follow.
    auto maps = [](unsigned self, unsigned start, unsigned count) {
      ojson m = ojson::array({{{"containerID", 0}, {"hostID", self}, {"size", 1}}});
      if (count) m.push_back({{"containerID", 1}, {"hostID", start}, {"size", count}});
      return m;
    };
    bool sub = o.subuid_count && o.subgid_count;
    linux["uidMappings"] = maps(o.host_uid, o.subuid_start, sub ? o.subuid_count : 0);
    linux["gidMappings"] = maps(o.host_gid, o.subgid_start, sub ? o.subgid_count : 0);
  }
  linux["namespaces"] = ns;
  linux["maskedPaths"] = {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                          "/proc/scsi", "/sys/devices/virtual/powercap"};
  linux["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  linux["seccomp"] = ojson::parse(serialize_seccomp(default_seccomp_profile(caps)));
  spec["linux"] = linux;
  return spec.dump(2) + "\n";
}

std::string features_json(const FeatureFacts& f) {
  ojson j;
  j["ociVersionMin"] = "1.0.0";
  j["ociVersionMax"] = kSpecVersion;
  j["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
  j["mountOptions"] = {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion",
                       "lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion",
                       "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private",
                       "ratime", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec", "rnoatime",
                       "rnodev", "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid",
                       "rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave",
                       "rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent", "slave",
                       "strictatime", "suid", "symfollow", "sync", "unbindable"};
  ojson linux;
  linux["namespaces"] = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"};
  std::vector<std::string> caps(capability_names().begin(), capability_names().end());
  linux["capabilities"] = caps;
  linux["cgroup"] = {{"v1", f.cgroup_v1}, {"v2", f.cgroup_v2}, {"systemd", true}, {"systemdUser", false}, {"rdma", true}};
  std::vector<std::string> actions;
  for (auto a : seccomp_actions())
    if (a != "SCMP_ACT_NOTIFY" || f.seccomp_notify) actions.emplace_back(a);
  ojson sec;
  sec["enabled"] = true;
  sec["actions"] = actions;
  sec["operators"] = std::vector<std::string>(seccomp_ops().begin(), seccomp_ops().end());
  sec["archs"] = std::vector<std::string>(seccomp_archs().begin(), seccomp_archs().end());
  sec["knownFlags"] = std::vector<std::string>(seccomp_flags().begin(), seccomp_flags().end());
  sec["supportedFlags"] = std::vector<std::string>(seccomp_flags().begin(), seccomp_flags().end());
  linux["seccomp"] = sec;
  linux["apparmor"] = {{"enabled", f.apparmor}};
  linux["selinux"] = {{"enabled", f.selinux}};
  linux["intelRdt"] = {{"enabled", false}};
  linux["mountExtensions"] = {{"idmap", {{"enabled", false}}}};
  j["linux"] = linux;
  j["annotations"] = {{"org.opencontainers.runtime-spec.version", kSpecVersion},
                      {"io.github.hull.version", HULL_VERSION},
                      {"io.github.seccomp.libseccomp.version", f.seccomp_version}};
  return j.dump(2) + "\n";
}

}  // namespace hull::oci
