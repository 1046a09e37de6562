// spec, features, and the verbs hull refuses (checkpoint, restore).
#include <linux/seccomp.h>
#include <seccomp.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdio>

#include "cgroup/layout.h"
#include "cli/oci.h"
#include "linux/lsm.h"
#include "oci/generate.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/id_range.h"

namespace hull::cli {

namespace {

// More than the user's own id needs newuidmap/newgidmap and a grant in /etc/sub{u,g}id.
void add_subordinate_ids(oci::SpecOptions& o) {
  const passwd* pw = ::getpwuid(o.host_uid);
  const group* gr = ::getgrgid(o.host_gid);
  auto have = [](const char* tool) { return ::access(path_join("/usr/bin", tool).c_str(), X_OK) == 0; };
  if (!pw || !gr || !have("newuidmap") || !have("newgidmap")) return;
  auto u = subordinate_range_in("/etc/subuid", pw->pw_name, o.host_uid);
  auto g = subordinate_range_in("/etc/subgid", pw->pw_name, o.host_uid);
  if (!u || !g) return;
  o.subuid_start = u->outside;
  o.subuid_count = u->count;
  o.subgid_start = g->outside;
  o.subgid_count = g->count;
}

}  // namespace

void register_info(CLI::App& app, OciEnv& env) {
  static std::string bundle;
  static bool rootless = false;
  auto* spec = app.add_subcommand("spec", "write a default config.json");
  spec->add_option("--bundle,-b", bundle, "where to write it");
  spec->add_flag("--rootless", rootless, "for an unprivileged user");
  env.add(spec, [] {
    std::string path = path_join(bundle.empty() ? "." : bundle, "config.json");
    if (path_exists(path)) fail("{} exists: remove it first", path);
    oci::SpecOptions o;
    o.rootless = rootless;
    o.cgroup_ns = cgroup::host_layout().layout == cgroup::Layout::v2;
    o.host_uid = ::geteuid();
    o.host_gid = ::getegid();
    if (rootless) add_subordinate_ids(o);
    write_file(path, oci::default_spec_json(o), 0644);
    return 0;
  });

  auto* features = app.add_subcommand("features", "print what this runtime implements (JSON)");
  env.add(features, [] {
    oci::FeatureFacts f;
    auto* v = seccomp_version();
    f.seccomp_version = fmt::format("{}.{}.{}", v->major, v->minor, v->micro);
    f.seccomp_notify = true;  // listenerPath (runtime/exec_process.h)
    f.apparmor = linux::apparmor_enabled();
    f.selinux = linux::selinux_enabled();
    std::fputs(oci::features_json(f).c_str(), stdout);
    return 0;
  });

  static std::vector<std::string> ignored;
  for (const char* verb : {"checkpoint", "restore"}) {
    auto* s = app.add_subcommand(verb, "not supported (criu cannot checkpoint on these hosts)");
    s->add_option("args", ignored);
    s->allow_extras();
    std::string name = verb;
    env.add(s, [name]() -> int { fail("{}: not supported: criu cannot checkpoint on this kernel", name); });
  }
}

}  // namespace hull::cli
