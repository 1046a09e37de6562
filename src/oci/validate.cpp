// Consistency checks on a parsed spec (runtime-spec config.md and config-linux.md MUSTs),
// done before anything is created so a bad config leaves nothing behind.
#include <algorithm>
#include <set>
#include <tuple>

#include "oci/parse.h"
#include "util/error.h"
#include "util/strings.h"

namespace hull::oci {
namespace {

// Every error of the spec's parser and checks is the config's: kind invalid_config. This
// fail() hides hull::fail in this file.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  fail_as(ErrorKind::invalid_config, format, std::forward<Args>(args)...);
}

std::string at(const std::string& base, std::string_view field) {
  return base.empty() ? std::string(field) : fmt::format("{}.{}", base, field);
}

bool is_absolute(const std::string& p) { return !p.empty() && p.front() == '/'; }

bool new_namespace(const Linux& l, NamespaceType t) {
  const Namespace* ns = l.find_namespace(t);
  return ns != nullptr;
}

void validate_sysctl(const Linux& l) {
  for (const auto& [key, value] : l.sysctl) {
    std::string path = fmt::format("linux.sysctl.{}", key);
    if (key.empty() || key.find("..") != std::string::npos || key.find('/') != std::string::npos)
      fail("{}: invalid sysctl name", path);
    auto needs = [&](NamespaceType t, const char* what) {
      if (!new_namespace(l, t))
        fail("{}: needs a {} namespace of the container's own (add it to linux.namespaces)", path, what);
    };
    if (key.rfind("net.", 0) == 0) {
      needs(NamespaceType::network, "network");
    } else if (key.rfind("kernel.msg", 0) == 0 || key.rfind("kernel.shm", 0) == 0 ||
               key == "kernel.sem" || key.rfind("fs.mqueue.", 0) == 0) {
      needs(NamespaceType::ipc, "ipc");
    } else if (key == "kernel.hostname" || key == "kernel.domainname") {
      needs(NamespaceType::uts, "uts");
    } else {
      // Anything else would change the host: runc and crun refuse it too.
      fail("{}: not namespaced; setting it would change the host", path);
    }
  }
}

// capset(2) refuses an effective capability that is not permitted, and an inheritable one
// outside the bounding set, with a bare EPERM: say which field asks for what.
void validate_capabilities(const Capabilities& c, const std::string& base) {
  auto subset = [&](const std::vector<std::string>& of, const char* name,
                    const std::vector<std::string>& in, const char* in_name) {
    for (size_t i = 0; i < of.size(); ++i)
      if (std::find(in.begin(), in.end(), of[i]) == in.end())
        fail("{}[{}]: {} is not in {} (the kernel refuses it)",
             at(base, fmt::format("capabilities.{}", name)), i, of[i],
             at(base, fmt::format("capabilities.{}", in_name)));
  };
  subset(c.effective, "effective", c.permitted, "permitted");
  subset(c.inheritable, "inheritable", c.bounding, "bounding");
}

// The sysctls are written after hostname/domainname are set: one that says otherwise would
// silently win. runc and crun refuse the contradiction; agreeing values are fine.
void validate_host_name_sysctls(const Spec& s) {
  for (const auto& [key, field, value] :
       {std::tuple{"kernel.hostname", "hostname", &s.hostname},
        std::tuple{"kernel.domainname", "domainname", &s.domainname}}) {
    auto it = s.linux.sysctl.find(key);
    if (it != s.linux.sysctl.end() && !value->empty() && it->second != *value)
      fail("linux.sysctl.{}: {} contradicts {} {}", key, quote(it->second), field, quote(*value));
  }
}

}  // namespace

void validate_process(const Process& p, const std::string& base) {
  if (p.args.empty()) fail("{}: at least one argument is required", at(base, "args"));
  if (p.cwd.empty()) fail("{}: required", at(base, "cwd"));
  if (!is_absolute(p.cwd)) fail("{}: {} is not an absolute path", at(base, "cwd"), quote(p.cwd));
  for (size_t i = 0; i < p.env.size(); ++i) {
    const auto& e = p.env[i];
    auto eq = e.find('=');
    if (eq == std::string::npos || eq == 0)
      fail("{}[{}]: {} is not NAME=VALUE", at(base, "env"), i, quote(e));
  }
  if (p.capabilities) validate_capabilities(*p.capabilities, base);
  auto check_id = [&](uint32_t id, const std::string& field) {
    if (id > kMaxProcessId)
      fail("{}: {} is out of range (at most {})", at(base, field), id, kMaxProcessId);
  };
  check_id(p.user.uid, "user.uid");
  check_id(p.user.gid, "user.gid");
  for (size_t i = 0; i < p.user.additional_gids.size(); ++i)
    check_id(p.user.additional_gids[i], fmt::format("user.additionalGids[{}]", i));
  if (p.console_size && !p.terminal)
    fail("{}: only valid with process.terminal true", at(base, "consoleSize"));
  if (p.scheduler && p.scheduler->policy == "SCHED_DEADLINE" &&
      (p.scheduler->runtime == 0 || p.scheduler->deadline == 0))
    fail("{}: SCHED_DEADLINE needs runtime and deadline", at(base, "scheduler"));
}

void validate(const Spec& s) {
  if (s.root.path.empty()) fail("root.path: required");
  if (!s.process) fail("process: required");
  validate_process(*s.process, "process");
  const Linux& l = s.linux;

  const Namespace* user = l.find_namespace(NamespaceType::user);
  if (user && user->path.empty() && l.uid_mappings.empty())
    fail("linux.uidMappings: required with a new user namespace");
  if (user && user->path.empty() && l.gid_mappings.empty())
    fail("linux.gidMappings: required with a new user namespace");
  if ((!user || !user->path.empty()) && (!l.uid_mappings.empty() || !l.gid_mappings.empty()))
    fail("linux.uidMappings: only valid with a new user namespace in linux.namespaces");
  if (!s.hostname.empty() && !new_namespace(l, NamespaceType::uts))
    fail("hostname: needs a uts namespace of the container's own");
  if (!s.domainname.empty() && !new_namespace(l, NamespaceType::uts))
    fail("domainname: needs a uts namespace of the container's own");
  if (!l.time_offsets.empty()) {
    const Namespace* t = l.find_namespace(NamespaceType::time);
    if (!t || !t->path.empty()) fail("linux.timeOffsets: only valid with a new time namespace");
  }
  for (size_t i = 0; i < l.masked_paths.size(); ++i)
    if (!is_absolute(l.masked_paths[i]))
      fail("linux.maskedPaths[{}]: {} is not an absolute path", i, quote(l.masked_paths[i]));
  for (size_t i = 0; i < l.readonly_paths.size(); ++i)
    if (!is_absolute(l.readonly_paths[i]))
      fail("linux.readonlyPaths[{}]: {} is not an absolute path", i, quote(l.readonly_paths[i]));
  for (size_t i = 0; i < s.mounts.size(); ++i) {
    const auto& m = s.mounts[i];
    if ((!m.uid_mappings.empty() || !m.gid_mappings.empty()) &&
        (m.uid_mappings.empty() || m.gid_mappings.empty()))
      fail("mounts[{}]: uidMappings and gidMappings go together", i);
  }
  validate_sysctl(l);
  validate_host_name_sysctls(s);
  if (l.resources && !l.resources->unified.empty()) {
    for (const auto& [key, value] : l.resources->unified)
      if (key.find('/') != std::string::npos || key.find('.') == std::string::npos)
        fail("linux.resources.unified.{}: not a cgroup v2 file name", key);
  }
}

}  // namespace hull::oci
