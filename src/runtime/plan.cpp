#include "runtime/plan.h"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "linux/idmap.h"
#include "linux/lsm.h"
#include "runtime/annotations.h"
#include "linux/namespaces.h"
#include "linux/terminal.h"
#include "oci/names.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::runtime {

int namespace_flag(oci::NamespaceType t) {
  switch (t) {
    case oci::NamespaceType::pid: return CLONE_NEWPID;
    case oci::NamespaceType::network: return CLONE_NEWNET;
    case oci::NamespaceType::mount: return CLONE_NEWNS;
    case oci::NamespaceType::ipc: return CLONE_NEWIPC;
    case oci::NamespaceType::uts: return CLONE_NEWUTS;
    case oci::NamespaceType::user: return CLONE_NEWUSER;
    case oci::NamespaceType::cgroup: return CLONE_NEWCGROUP;
    case oci::NamespaceType::time: return CLONE_NEWTIME;
  }
  return 0;
}

std::vector<linux::IdRange> id_ranges(const std::vector<oci::IdMapping>& m) {
  std::vector<linux::IdRange> out;
  for (const auto& x : m) out.push_back({x.container_id, x.host_id, x.size});
  return out;
}

namespace {

bool maps_zero(const std::vector<oci::IdMapping>& m) {
  return std::any_of(m.begin(), m.end(), [](auto& x) { return x.container_id == 0; });
}

void add_cgroup_mounts(linux::RootfsPlan& rootfs, const oci::Mount& m, const std::string& what,
                       cgroup::Manager* cg, bool cgroupns) {
  linux::MountOptions opts = linux::parse_mount_options(m.options);
  std::string dest = clean_path("/" + m.destination);
  if (!cg) return;
  auto mounts = cg->container_mounts();
  bool single_v2 = mounts.size() == 1 && mounts[0].subdir.empty();
  unsigned long ro = opts.flags & MS_RDONLY;
  linux::MountOptions sub = opts;
  sub.data.clear();
  if (!single_v2) {
    // v1/hybrid: a tmpfs holding one directory per hierarchy, made read-only at the end.
    linux::MountSpec tmpfs{dest, "tmpfs", "tmpfs", opts, what};
    tmpfs.options.flags &= ~MS_RDONLY;
    tmpfs.options.data = "mode=755";
    rootfs.mounts.push_back(tmpfs);
  }
  for (const auto& c : mounts) {
    std::string target = c.subdir.empty() ? dest : path_join(dest, c.subdir);
    if (c.fstype == "symlink") {
      // Named, not a braced temporary: GCC 12 -O3 warns (-Wmaybe-uninitialized) about the
      // temporary's empty options string otherwise.
      linux::MountSpec link;
      link.destination = target;
      link.type = "symlink";
      link.source = c.data;
      link.what = what;
      rootfs.mounts.push_back(std::move(link));
      continue;
    }
    linux::MountSpec ms{target, c.fstype, c.fstype, sub, what};
    if (cgroupns) {
      ms.options.data = c.data;
    } else {
      // Without a cgroup namespace a fresh mount would show the whole host tree: bind the
      // container's own directory instead (runc does the same).
      ms.type = "bind";
      ms.source = c.host_path;
      ms.options.bind = true;
      ms.options.recursive = true;
    }
    rootfs.mounts.push_back(ms);
  }
  if (!single_v2 && ro) {
    linux::MountSpec remount{dest, "tmpfs", "tmpfs", opts, what};
    remount.options.flags |= MS_REMOUNT | MS_RDONLY;
    remount.options.data = "mode=755";
    rootfs.mounts.push_back(remount);
  }
}

// CVE-2019-19921, CVE-2023-27561: nothing but procfs may cover /proc or anything under it, or
// hull's own writes there (sysctl, the LSM label) and the kernel's view of the container
// would land in a file of the image's choosing. The files lxcfs provides are allowed, as runc
// allows them, and so is a bind of something that is itself on procfs.
void check_proc_destination(const linux::MountSpec& m, bool bind) {
  const std::string& dest = m.destination;
  if (dest != "/proc" && dest.rfind("/proc/", 0) != 0) return;
  if (m.type == "proc") {
    if (dest == "/proc") return;
    fail("{}: procfs belongs on /proc, not on {}", m.what, dest);
  }
  static const char* const kLxcfsFiles[] = {"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
                                            "/proc/swaps", "/proc/uptime", "/proc/loadavg", "/proc/slabinfo",
                                            "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
                                            "/proc/sys/crypto/fips_enabled"};
  if (bind) {
    for (const char* f : kLxcfsFiles)
      if (dest == f) return;
    struct statfs sf;
    if (::statfs(m.source.c_str(), &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC) return;
  }
  fail("{}: {}: only procfs (or one of lxcfs's files) may be mounted on or inside /proc", m.what, dest);
}

// apparmorProfile and selinuxLabel are applied where the LSM is enabled; asked for where it is
// not, they are an error (silently running unconfined would be worse).
// The process's labels are checked with the rest of it (process.h).
void check_mount_label(const oci::Spec& spec) {
  if (!spec.linux.mount_label.empty() && !linux::selinux_enabled())
    fail("linux.mountLabel: {} asked for, but SELinux is not enabled on this host", quote(spec.linux.mount_label));
}

// A mount namespace the container shares — joined by path, or the caller's when the spec
// has none — is used as it is: hull mounts nothing there, makes no node or symlink, and does
// not pivot_root (that would move the root of every process in it); the init only chroots
// into root.path as that namespace sees it. What would need a mount is refused, by field.
void check_shared_mount_namespace(const oci::Spec& spec, const std::string& path) {
  std::string why = path.empty()
                        ? "linux.namespaces has none (the container shares the caller's)"
                        : fmt::format("its mount namespace is joined ({})", path);
  auto refuse = [&](const std::string& field, const std::string& what) {
    fail("{}: {} needs a mount namespace of the container's own; {}, and hull mounts nothing "
         "in a shared one",
         field, what, why);
  };
  const oci::Linux& l = spec.linux;
  if (!spec.mounts.empty()) refuse("mounts[0]", "a mount on " + spec.mounts[0].destination);
  if (!l.masked_paths.empty()) refuse("linux.maskedPaths", "masking " + l.masked_paths[0]);
  if (!l.readonly_paths.empty())
    refuse("linux.readonlyPaths", "making " + l.readonly_paths[0] + " read-only");
  if (spec.root.readonly) refuse("root.readonly", "a read-only root");
  if (!l.rootfs_propagation.empty())
    refuse("linux.rootfsPropagation", "the root's propagation");
  if (!l.devices.empty()) refuse("linux.devices", "creating " + l.devices[0].path);
  if (!l.mount_label.empty()) refuse("linux.mountLabel", "a mount label");
  if (wants_overlay_root(spec)) refuse("annotations", "an overlay root");
}

}  // namespace

std::string resolve_rootfs(const oci::Spec& spec, const std::string& bundle) {
  std::string p = spec.root.path.front() == '/' ? spec.root.path : path_join(bundle, spec.root.path);
  p = clean_path(p);
  struct stat st;
  if (::stat(p.c_str(), &st) < 0) fail_errno("root.path: {}", p);
  if (!S_ISDIR(st.st_mode)) fail("root.path: {} is not a directory", p);
  return p;
}

// linux.devices only creates nodes; whether the container may open them is for
// linux.resources.devices alone (runc and crun): a node listed there must not slip past a
// deny-all (a /dev/kmsg, a disk) by being listed.
oci::Resources cgroup_resources(const oci::Spec& spec) {
  return spec.linux.resources.value_or(oci::Resources{});
}

int clone_flags(const InitPlan& plan, const oci::Spec& spec) {
  if (plan.join_user_first || plan.unshare_after_join) return 0;
  int flags = 0;
  for (const auto& ns : spec.linux.namespaces) {
    if (!ns.path.empty()) continue;
    int f = namespace_flag(ns.type);
    // cgroup: unshared by the init after it is in its cgroup, or its namespace root would be
    // the runtime's cgroup; time: offsets must be written before anyone enters it.
    if (f == CLONE_NEWCGROUP || f == CLONE_NEWTIME) continue;
    flags |= f;
  }
  return flags;
}

void build_plan(InitPlan& plan, const oci::Spec& spec, const CreateOptions& opts, const std::string& rootfs,
                cgroup::Manager* cg, const std::string& seccomp_cache) {
  const oci::Linux& l = spec.linux;
  const oci::Process& proc = *spec.process;
  plan.spec = &spec;
  plan.id = opts.id;
  plan.no_new_keyring = opts.no_new_keyring;
  plan.process.pid1_init = wants_pid1_init(spec);

  const oci::Namespace* mnt = l.find_namespace(oci::NamespaceType::mount);
  plan.new_mount_ns = mnt && mnt->path.empty();
  if (!plan.new_mount_ns) check_shared_mount_namespace(spec, mnt ? mnt->path : "");

  const oci::Namespace* user = l.find_namespace(oci::NamespaceType::user);
  plan.new_user_ns = user && user->path.empty();
  // The user namespace the init ends up in, when it is not a new one: joined, or ours.
  bool initial_user_ns = false;
  bool any_path = false;
  for (size_t i = 0; i < l.namespaces.size(); ++i) {
    const auto& ns = l.namespaces[i];
    if (ns.path.empty()) continue;
    int flag = namespace_flag(ns.type);
    Fd fd = with_context(fmt::format("linux.namespaces[{}].path", i), [&] { return linux::open_namespace(ns.path, flag); });
    if (flag == CLONE_NEWUSER) {
      initial_user_ns = linux::is_initial_user_namespace(fd.get());
      // Our own user namespace: the init is in it already (setns would say EINVAL).
      if (linux::is_own_namespace(fd.get(), flag)) continue;
    }
    // A PID namespace is joined by the parent right before clone3 (it only affects children).
    if (flag != CLONE_NEWPID) any_path = true;
    plan.join.emplace_back(std::move(fd), flag);
  }
  if (!user) {
    Fd own = linux::open_namespace("/proc/self/ns/user", CLONE_NEWUSER);
    initial_user_ns = linux::is_initial_user_namespace(own.get());
  }
  plan.join_user_first = std::any_of(plan.join.begin(), plan.join.end(),
                                     [](const auto& j) { return j.second == CLONE_NEWUSER; });
  // With a new user namespace, namespaces given by path must be joined before it exists
  // (we would have no privilege over them from inside it): the slow path.
  bool slow = plan.join_user_first || (plan.new_user_ns && any_path);
  if (slow) {
    for (const auto& ns : l.namespaces) {
      int f = namespace_flag(ns.type);
      if (ns.path.empty() && f != CLONE_NEWCGROUP && f != CLONE_NEWTIME) plan.unshare_after_join |= f;
    }
    plan.fork_for_pid_ns = plan.unshare_after_join & CLONE_NEWPID;
  }
  plan.become_root = plan.new_user_ns && maps_zero(l.uid_mappings) && maps_zero(l.gid_mappings);
  const oci::Namespace* cgns = l.find_namespace(oci::NamespaceType::cgroup);
  plan.new_cgroup_ns = cgns && cgns->path.empty();
  const oci::Namespace* timens = l.find_namespace(oci::NamespaceType::time);
  plan.new_time_ns = timens && timens->path.empty();

  // The file system view.
  linux::RootfsPlan& r = plan.rootfs;
  r.rootfs = rootfs;
  r.readonly = spec.root.readonly;
  r.propagation = l.rootfs_propagation.empty() ? 0 : linux::propagation_flags(l.rootfs_propagation);
  r.no_pivot = opts.no_pivot;
  r.cwd = proc.cwd;
  r.overlay = wants_overlay_root(spec);
  r.overlay_lowers = overlay_lowers(spec);
  r.overlay_userxattr = plan.new_user_ns;
  if (plan.new_user_ns && !r.overlay_lowers.empty() && ::geteuid() == 0) {
    r.overlay_idmap_uids = id_ranges(l.uid_mappings);
    r.overlay_idmap_gids = id_ranges(l.gid_mappings);
  }
  // mknod needs CAP_MKNOD in the initial user namespace: in any other — even one that maps 0
  // to 0 — the kernel refuses it, and a tmpfs mounted from there could not open a node anyway.
  // There the host's nodes are bound; in the initial one (no user namespace, or the host's
  // joined by path) they are made with mknod, with the config's mode and owner (crun's rule).
  r.bind_devices = !initial_user_ns;
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const auto& m = spec.mounts[i];
    std::string what = fmt::format("mounts[{}]", i);
    if (m.type == "cgroup" || m.type == "cgroup2") {
      add_cgroup_mounts(r, m, what, cg, plan.new_cgroup_ns);
      continue;
    }
    linux::MountSpec ms;
    ms.what = what;
    ms.destination = clean_path("/" + m.destination);
    ms.type = m.type;
    ms.options = linux::parse_mount_options(m.options);
    ms.source = m.source;
    bool bind = ms.options.bind || m.type == "bind";
    if (bind) {
      if (m.source.empty()) fail("{}.source: required for a bind mount", what);
      if (m.source.front() != '/') ms.source = path_join(opts.bundle, m.source);
      ms.options.bind = true;
    } else if (m.type.empty()) {
      fail("{}.type: required for a mount that is not a bind mount", what);
    }
    check_proc_destination(ms, bind);
    if (!l.mount_label.empty() && !bind && m.type != "proc" && m.type != "sysfs")
      ms.options.data = linux::with_mount_label(ms.options.data, l.mount_label);
    if (ms.options.idmap) {
      // Made by the runtime as root on the source's detached clone (linux::open_sources), for
      // a container with a user namespace of its own: the mount's maps, else the container's.
      if (!bind) fail("{}: idmap and ridmap apply to bind mounts only", what);
      if (!plan.new_user_ns)
        fail("{}: id-mapped mounts need a user namespace of the container's own", what);
      if (::geteuid() != 0) fail("{}: id-mapped mounts need root (mount_setattr)", what);
      bool own = !m.uid_mappings.empty();
      ms.idmap_uids = id_ranges(own ? m.uid_mappings : l.uid_mappings);
      ms.idmap_gids = id_ranges(own ? m.gid_mappings : l.gid_mappings);
    }
    if (m.type == "tmpfs" && ms.destination == "/dev" && (ms.options.flags & MS_RDONLY)) {
      r.dev_remount_flags = ms.options.flags;
      ms.options.flags &= ~MS_RDONLY;
    }
    if (ms.options.tmpcopyup && m.type != "tmpfs")
      fail("{}: tmpcopyup applies to tmpfs mounts only, not type {:?}", what, m.type);
    r.mounts.push_back(std::move(ms));
  }
  // Nothing is made in a shared mount namespace (refused above): no nodes, no host sources.
  if (plan.new_mount_ns) r.devices = linux::default_devices();
  else r.bind_devices = false;
  for (const auto& d : l.devices) {
    linux::DeviceNode n{d.type, clean_path(d.path), static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor),
                        static_cast<mode_t>(d.file_mode.value_or(0666)), d.uid.value_or(0), d.gid.value_or(0)};
    auto same = std::find_if(r.devices.begin(), r.devices.end(), [&](auto& x) { return x.path == n.path; });
    if (same != r.devices.end()) *same = n;
    else r.devices.push_back(n);
  }
  r.masked_paths = l.masked_paths;
  r.readonly_paths = l.readonly_paths;

  // The process.
  build_process_plan(plan.process, proc, spec, seccomp_cache, "process");
  plan.process.preserve_fds = opts.preserve_fds;
  // An unprivileged creator must deny setgroups before mapping its gid.
  plan.process.set_groups = !(plan.new_user_ns && ::geteuid() != 0);

  check_mount_label(spec);
  plan.undumpable_from_start = ::geteuid() == 0;
}

}  // namespace hull::runtime
