#include "frontend/run_spec.h"

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "frontend/docker_values.h"
#include "image/layered.h"
#include "oci/names.h"
#include "oci/parse.h"
#include "oci/state.h"
#include "runtime/annotations.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::frontend {
namespace {

constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// docker's defaults (moby oci/defaults.go): what a container must not see or change of the host.
const std::vector<std::string> kMaskedPaths = {"/proc/asound",
                                               "/proc/acpi",
                                               "/proc/kcore",
                                               "/proc/keys",
                                               "/proc/latency_stats",
                                               "/proc/timer_list",
                                               "/proc/timer_stats",
                                               "/proc/sched_debug",
                                               "/proc/scsi",
                                               "/sys/firmware",
                                               "/sys/devices/virtual/powercap"};
const std::vector<std::string> kReadonlyPaths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                 "/proc/sysrq-trigger"};

oci::Mount mount(std::string dest, std::string type, std::string source,
                 std::vector<std::string> options) {
  oci::Mount m;
  m.destination = std::move(dest);
  m.type = std::move(type);
  m.source = std::move(source);
  m.options = std::move(options);
  return m;
}

unsigned host_cpus() {
  long n = ::sysconf(_SC_NPROCESSORS_CONF);
  return n > 0 ? static_cast<unsigned>(n) : 1;
}

bool host_network(const RunOptions& o) {
  return o.net.networks.size() == 1 && o.net.networks[0] == "host";
}

size_t depth(const std::string& path) {
  return std::count(path.begin(), path.end(), '/');
}

// The block device a throttle flag names, as the major:minor the cgroup files take.
oci::ThrottleDevice throttle(const std::string& flag, const std::string& value, bool iops) {
  DeviceRate r = parse_device_rate(flag, value, iops);
  struct stat st;
  if (::stat(r.device.c_str(), &st) < 0) fail_errno("{}: {}", flag, r.device);
  if (!S_ISBLK(st.st_mode)) fail("{}: {} is not a block device", flag, r.device);
  return {static_cast<int64_t>(major(st.st_rdev)), static_cast<int64_t>(minor(st.st_rdev)), r.rate};
}

// --privileged: every device node of the host's /dev (one level of subdirectories), as docker.
void add_host_devices(std::vector<oci::Device>& out, const std::string& dir, int level) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (dirent* de = ::readdir(d)) {
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    std::string path = path_join(dir, name);
    if (level == 0 &&
        (name == "pts" || name == "shm" || name == "mqueue" || name == "console" || name == "ptmx"))
      continue;
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0) continue;
    if (S_ISDIR(st.st_mode) && level == 0) {
      add_host_devices(out, path, 1);
      continue;
    }
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) continue;
    oci::Device dev;
    dev.type = S_ISBLK(st.st_mode) ? 'b' : 'c';
    dev.path = path;
    dev.major = major(st.st_rdev);
    dev.minor = minor(st.st_rdev);
    dev.file_mode = st.st_mode & 07777;
    dev.uid = st.st_uid;
    dev.gid = st.st_gid;
    out.push_back(dev);
  }
  ::closedir(d);
}

// What hull itself may not hand on (this host's hull may lack CAP_SYS_RESOURCE): --privileged
// gets all that is left, an explicit --cap-add of a missing one fails.
std::vector<std::string> held_only(const std::vector<std::string>& caps,
                                   const std::vector<std::string>& added) {
  const auto names = oci::capability_names();
  std::vector<std::string> out;
  for (const auto& c : caps) {
    auto it = std::find(names.begin(), names.end(), c);
    int number = static_cast<int>(it - names.begin());
    if (it == names.end() || ::prctl(PR_CAPBSET_READ, number, 0, 0, 0) == 1) {
      out.push_back(c);
    } else if (std::find(added.begin(), added.end(), c) != added.end()) {
      fail("--cap-add {}: hull itself does not hold it, so it cannot give it", c);
    }
  }
  return out;
}

std::string read_in_rootfs(const std::string& rootfs, const char* path) {
  return read_file_if_exists(path_join(rootfs, path)).value_or("");
}

std::vector<std::string> default_command(const ResolvedUser& user, const std::string& rootfs) {
  // No image, so no CMD: the user's login shell, as a login would give it.
  const std::string& shell = user.shell;
  bool usable = !shell.empty() && shell.find("nologin") == std::string::npos &&
                shell.find("false") == std::string::npos &&
                ::access(path_join(rootfs, shell).c_str(), X_OK) == 0;
  return {usable ? shell : "/bin/sh"};
}

// docker's rule: --entrypoint replaces the image's Entrypoint and drops its Cmd; a command
// after the image replaces Cmd.
std::vector<std::string> image_command(const RunOptions& o, const image::ImageConfig& c) {
  std::vector<std::string> args;
  if (o.entrypoint) {
    if (!o.entrypoint->empty()) args.push_back(*o.entrypoint);
  } else {
    args = c.entrypoint;
  }
  const auto& cmd = !o.command.empty() ? o.command : o.entrypoint ? o.command : c.cmd;
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty())
    fail("no command specified: image {} has no Entrypoint or Cmd; give one after its name",
         quote(o.image));
  return args;
}

void add_resources(oci::Spec& spec, const RunOptions& o) {
  oci::Resources r;
  r.devices.push_back({o.privileged, "a", std::nullopt, std::nullopt, "rwm"});
  if (!o.memory.empty() || !o.memory_swap.empty()) {
    oci::MemoryResources mem;
    if (o.memory.empty()) fail("--memory-swap: needs --memory too (it is memory plus swap)");
    int64_t limit = parse_bytes("--memory", o.memory);
    if (limit < (6 << 20)) fail("--memory: {} is below the minimum of 6m", quote(o.memory));
    mem.limit = limit;
    // Unlike docker, no implicit swap allowance: it needs swap accounting, which hosts often lack.
    if (!o.memory_swap.empty()) {
      int64_t swap = parse_bytes("--memory-swap", o.memory_swap, true);
      if (swap != -1 && swap < limit)
        fail("--memory-swap: {} is below --memory {} (it is memory plus swap)",
             quote(o.memory_swap), quote(o.memory));
      mem.swap = swap;
    }
    r.memory = mem;
  }
  if (!o.cpus.empty() || !o.cpu_shares.empty() || !o.cpuset_cpus.empty()) {
    oci::CpuResources cpu;
    if (!o.cpus.empty()) {
      CpuQuota q = parse_cpus(o.cpus, host_cpus());
      cpu.quota = q.quota;
      cpu.period = q.period;
    }
    if (!o.cpu_shares.empty())
      cpu.shares = static_cast<uint64_t>(parse_int("--cpu-shares", o.cpu_shares, 2, 262144));
    if (!o.cpuset_cpus.empty()) cpu.cpus = parse_cpuset(o.cpuset_cpus, host_cpus());
    r.cpu = cpu;
  }
  if (!o.pids_limit.empty()) {
    int64_t n = parse_int("--pids-limit", o.pids_limit, INT64_MIN, INT64_MAX);
    if (n > 0) r.pids_limit = n;  // docker: 0 or -1 is "no limit"
  }
  bool blkio = !o.blkio_weight.empty() || !o.device_read_bps.empty() ||
               !o.device_write_bps.empty() || !o.device_read_iops.empty() ||
               !o.device_write_iops.empty();
  if (blkio) {
    oci::BlockIoResources b;
    if (!o.blkio_weight.empty()) {
      auto w = parse_int("--blkio-weight", o.blkio_weight, 0, 1000);
      if (w != 0 && w < 10)
        fail("--blkio-weight: {} is outside 10..1000 (or 0 for the default)", w);
      if (w) b.weight = static_cast<uint16_t>(w);
    }
    for (const auto& v : o.device_read_bps)
      b.throttle_read_bps.push_back(throttle("--device-read-bps", v, false));
    for (const auto& v : o.device_write_bps)
      b.throttle_write_bps.push_back(throttle("--device-write-bps", v, false));
    for (const auto& v : o.device_read_iops)
      b.throttle_read_iops.push_back(throttle("--device-read-iops", v, true));
    for (const auto& v : o.device_write_iops)
      b.throttle_write_iops.push_back(throttle("--device-write-iops", v, true));
    r.block_io = b;
  }
  spec.linux.resources = r;
}

void add_sysctls(oci::Spec& spec, const RunOptions& o) {
  for (const auto& v : o.sysctls) {
    auto [key, value] = parse_sysctl(v);
    bool net = key.rfind("net.", 0) == 0;
    bool ipc = key.rfind("kernel.msg", 0) == 0 || key.rfind("kernel.shm", 0) == 0 ||
               key == "kernel.sem" || key.rfind("fs.mqueue.", 0) == 0;
    if (!net && !ipc) fail("--sysctl {}: not namespaced; setting it would change the host", key);
    if (net && host_network(o))
      fail("--sysctl {}: needs the container's own network (not --network host)", key);
    spec.linux.sysctl[key] = value;
  }
}

void add_mounts(oci::Spec& spec, const RunOptions& o, const ContainerFiles& files, bool userns,
                const ImageRoot* image) {
  bool host_root = o.rootfs.empty() && !image;
  auto& m = spec.mounts;
  m.push_back(mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  m.push_back(
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  std::vector<std::string> pts = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
  if (!userns) pts.push_back("gid=5");
  m.push_back(mount("/dev/pts", "devpts", "devpts", pts));
  m.push_back(
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  m.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  std::string rw = o.privileged ? "rw" : "ro";
  if (userns && host_network(o)) {
    // sysfs may only be mounted from a user namespace that owns the network namespace.
    m.push_back(mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
  } else {
    m.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", rw}));
    m.push_back(
        mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", rw}));
  }
  std::vector<oci::Mount> user;
  for (const auto& v : o.volumes) {
    Volume vol = parse_volume(v);
    struct stat st;
    if (::stat(vol.source.c_str(), &st) < 0) fail_errno("-v {}: {}", v, vol.source);
    user.push_back(mount(clean_path(vol.destination), "bind", vol.source,
                         {"rbind", "rprivate", vol.readonly ? "ro" : "rw"}));
  }
  for (const auto& v : o.tmpfs) {
    Tmpfs t = parse_tmpfs(v);
    user.push_back(mount(clean_path(t.destination), "tmpfs", "tmpfs", t.options));
  }
  auto taken = [&](const std::string& dest) {
    return std::any_of(user.begin(), user.end(), [&](auto& u) { return u.destination == dest; });
  };
  // The image's Volumes: an anonymous volume each, unless -v/--tmpfs put something there.
  if (image)
    for (const auto& [dest, source] : image->volumes)
      if (!taken(clean_path(dest)))
        user.push_back(mount(clean_path(dest), "bind", source, {"rbind", "rprivate", "rw"}));
  if (host_root) {
    // The host's /tmp and /run hold its sockets and secrets: the container gets empty ones.
    if (!taken("/tmp"))
      m.push_back(mount("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777"}));
    if (!taken("/run"))
      m.push_back(mount("/run", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=755"}));
  }
  if (!taken("/etc/hostname"))
    m.push_back(mount("/etc/hostname", "bind", files.hostname_file, {"rbind", "rprivate", "ro"}));
  if (!taken("/etc/hosts"))
    m.push_back(mount("/etc/hosts", "bind", files.hosts_file, {"rbind", "rprivate", "ro"}));
  // On hull networks the name servers are the network's (none on an --internal one).
  if (!files.resolv_file.empty() && !taken("/etc/resolv.conf"))
    m.push_back(mount("/etc/resolv.conf", "bind", files.resolv_file, {"rbind", "rprivate", "ro"}));
  // Parents before children, whatever order the flags came in (docker sorts the same way).
  std::stable_sort(user.begin(), user.end(),
                   [](auto& a, auto& b) { return depth(a.destination) < depth(b.destination); });
  m.insert(m.end(), user.begin(), user.end());
}

void add_seccomp(oci::Spec& spec, const SecurityOpts& sec, bool privileged) {
  if (sec.seccomp.empty() || sec.seccomp == "unconfined" || privileged) return;
  auto text = read_file_if_exists(sec.seccomp);
  if (!text) fail_err(ENOENT, "--security-opt seccomp={}", sec.seccomp);
  spec.linux.seccomp = with_context(fmt::format("--security-opt seccomp={}", sec.seccomp),
                                    [&] { return oci::parse_seccomp_profile(*text); });
}

// The block devices a file system on `dev` reads and writes through: the device itself, the
// disk a partition is part of, and the devices under a device-mapper/md one (its slaves).
void backing_devices(dev_t dev, std::vector<dev_t>& out, int depth = 0) {
  if (major(dev) == 0 || depth > 4 || std::find(out.begin(), out.end(), dev) != out.end())
    return;  // major 0: tmpfs, overlay, proc: no block device at all
  out.push_back(dev);
  std::string sys = fmt::format("/sys/dev/block/{}:{}", major(dev), minor(dev));
  auto read_dev = [](const std::string& file) -> std::optional<dev_t> {
    auto text = read_file_if_exists(file);
    if (!text) return std::nullopt;
    auto f = split(std::string(trim(*text)), ':');
    if (f.size() != 2) return std::nullopt;
    auto ma = parse_u64(f[0]), mi = parse_u64(f[1]);
    if (!ma || !mi) return std::nullopt;
    return makedev(*ma, *mi);
  };
  if (::access((sys + "/partition").c_str(), F_OK) == 0)
    if (auto disk = read_dev(sys + "/../dev")) backing_devices(*disk, out, depth + 1);
  if (DIR* d = ::opendir((sys + "/slaves").c_str())) {
    while (auto* e = ::readdir(d))
      if (e->d_name[0] != '.')
        if (auto s = read_dev(fmt::format("{}/slaves/{}/dev", sys, e->d_name)))
          backing_devices(*s, out, depth + 1);
    ::closedir(d);
  }
}

// A --device-* limit on a device the container does not read or write through throttles
// nothing: the host sandbox's / is an overlay in memory, so `dd of=/out.img` is never
// slowed by a limit on the host's disk. Say so once per device, with the fix.
std::vector<std::string> unthrottled_warnings(const oci::Spec& spec, const RunOptions& o,
                                              const ImageRoot* image) {
  // No limit given (nearly every run): no device to look up in /sys.
  if (o.device_write_bps.empty() && o.device_write_iops.empty() && o.device_read_bps.empty() &&
      o.device_read_iops.empty())
    return {};
  std::vector<dev_t> writable, readable;
  auto add = [](const std::string& path, std::vector<dev_t>& into) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) backing_devices(st.st_dev, into);
  };
  // The root: its writable layer (none in memory for the host sandbox), and what it reads.
  if (image) {
    if (!o.read_only) add(image->layer_dir, writable);
    for (const auto& l : image->lowers) add(l, readable);
  } else if (!o.rootfs.empty()) {
    add(o.rootfs, o.read_only ? readable : writable);
  } else {
    add("/", readable);
  }
  for (const auto& m : spec.mounts) {
    if (m.type != "bind") continue;
    bool ro = std::find(m.options.begin(), m.options.end(), "ro") != m.options.end();
    add(m.source, ro ? readable : writable);
  }
  readable.insert(readable.end(), writable.begin(), writable.end());
  std::vector<std::string> out, named;
  auto check = [&](const std::string& flag, const std::vector<std::string>& values, bool write,
                   bool iops) {
    for (const auto& v : values) {
      DeviceRate r = parse_device_rate(flag, v, iops);
      if (std::find(named.begin(), named.end(), r.device) != named.end()) continue;
      struct stat st;
      if (::stat(r.device.c_str(), &st) < 0) continue;  // throttle() names it
      const auto& on = write ? writable : readable;
      if (std::find(on.begin(), on.end(), st.st_rdev) != on.end()) continue;
      named.push_back(r.device);
      out.push_back(fmt::format(
          "{} {}: no {}mount of this container is on {} ({}), so this limit slows nothing it "
          "does; bind a directory of that device and use it, e.g. -v HOST_DIR:/data",
          flag, r.device, write ? "writable " : "", r.device,
          image || !o.rootfs.empty() ? "its / is elsewhere" : "its / is an overlay in memory"));
    }
  };
  check("--device-write-bps", o.device_write_bps, true, false);
  check("--device-write-iops", o.device_write_iops, true, true);
  check("--device-read-bps", o.device_read_bps, false, false);
  check("--device-read-iops", o.device_read_iops, false, true);
  return out;
}

}  // namespace

oci::Resources update_resources(const UpdateOptions& u) {
  oci::Resources r;
  if (!u.memory.empty() || !u.memory_swap.empty() || !u.memory_reservation.empty()) {
    oci::MemoryResources mem;
    if (!u.memory.empty()) {
      mem.limit = parse_bytes("--memory", u.memory);
      if (*mem.limit < (6 << 20)) fail("--memory: {} is below the minimum of 6m", quote(u.memory));
    }
    if (!u.memory_swap.empty()) mem.swap = parse_bytes("--memory-swap", u.memory_swap, true);
    if (mem.limit && mem.swap && *mem.swap != -1 && *mem.swap < *mem.limit)
      fail("--memory-swap: {} is below --memory {} (it is memory plus swap)", quote(u.memory_swap),
           quote(u.memory));
    if (!u.memory_reservation.empty())
      mem.reservation = parse_bytes("--memory-reservation", u.memory_reservation);
    r.memory = mem;
  }
  bool cpu = !u.cpus.empty() || !u.cpu_shares.empty() || !u.cpu_quota.empty() ||
             !u.cpu_period.empty() || !u.cpuset_cpus.empty() || !u.cpuset_mems.empty();
  if (cpu) {
    oci::CpuResources c;
    if (!u.cpus.empty() && (!u.cpu_quota.empty() || !u.cpu_period.empty()))
      fail("--cpus: give it or --cpu-quota/--cpu-period, not both");
    if (!u.cpus.empty()) {
      CpuQuota q = parse_cpus(u.cpus, host_cpus());
      c.quota = q.quota;
      c.period = q.period;
    }
    if (!u.cpu_quota.empty()) c.quota = parse_int("--cpu-quota", u.cpu_quota, -1, INT64_MAX);
    if (!u.cpu_period.empty())
      c.period = static_cast<uint64_t>(parse_int("--cpu-period", u.cpu_period, 1000, 1000000));
    if (!u.cpu_shares.empty())
      c.shares = static_cast<uint64_t>(parse_int("--cpu-shares", u.cpu_shares, 2, 262144));
    if (!u.cpuset_cpus.empty()) c.cpus = parse_cpuset(u.cpuset_cpus, host_cpus());
    if (!u.cpuset_mems.empty()) c.mems = u.cpuset_mems;
    r.cpu = c;
  }
  if (!u.pids_limit.empty()) {
    int64_t n = parse_int("--pids-limit", u.pids_limit, INT64_MIN, INT64_MAX);
    r.pids_limit = n > 0 ? n : -1;  // 0 and -1: no limit
  }
  if (!u.blkio_weight.empty()) {
    auto w = parse_int("--blkio-weight", u.blkio_weight, 10, 1000);
    r.block_io = oci::BlockIoResources{};
    r.block_io->weight = static_cast<uint16_t>(w);
  }
  if (!r.memory && !r.cpu && !r.pids_limit && !r.block_io)
    fail("nothing to update: give at least one of --memory, --cpus, --pids-limit, ...");
  return r;
}

IdRange userns_range(const std::string& subid_text) {
  auto r = subordinate_range(subid_text, "root", 0);
  return {0, r && r->count >= 65536 ? r->outside : 100000u, 65536};
}

std::optional<std::pair<uint32_t, uint32_t>> private_root(const RunOptions& o) {
  if (o.userns != "private") return std::nullopt;
  IdRange u = userns_range(read_file_if_exists("/etc/subuid").value_or(""));
  IdRange g = userns_range(read_file_if_exists("/etc/subgid").value_or(""));
  return std::make_pair(u.outside, g.outside);
}

BuiltSpec build_run_spec(const RunOptions& o, const ContainerFiles& files, const ImageRoot* image) {
  BuiltSpec out;
  oci::Spec& spec = out.spec;
  spec.oci_version = oci::kSpecVersion;
  std::string rootfs = o.rootfs.empty() ? "/" : o.rootfs;
  if (image) {
    rootfs = image->layer_dir;
    spec.annotations[runtime::kOverlayRootAnnotation] = "layers";
    spec.annotations[runtime::kOverlayLowersAnnotation] = join(image->lowers, ":");
  } else if (!o.rootfs.empty()) {
    struct stat st;
    if (::stat(rootfs.c_str(), &st) < 0) fail_errno("--rootfs {}", rootfs);
    if (!S_ISDIR(st.st_mode)) fail("--rootfs {}: not a directory", rootfs);
  } else {
    spec.annotations[runtime::kOverlayRootAnnotation] = "tmpfs";
  }
  spec.root.path = rootfs;
  spec.root.readonly = o.read_only;
  if (!o.name.empty()) spec.annotations[runtime::kNameAnnotation] = o.name;
  if (o.init) spec.annotations[runtime::kInitAnnotation] = "true";

  NetMode net_mode = check_network_options(o.net);
  if (o.userns != "host" && o.userns != "private")
    fail(
        "--userns {}: want host (the default) or private (root inside is an unprivileged id "
        "outside)",
        quote(o.userns));
  bool userns = o.userns == "private";
  if (userns && o.privileged) fail("--privileged: cannot be combined with --userns private");
  if (o.entrypoint && !image) fail("--entrypoint: needs an image (the command is the entrypoint)");

  // The process.
  oci::Process p;
  ResolvedUser user;
  std::string passwd, group;
  if (image) {
    passwd = image::read_layered_file(image->lowers, "etc/passwd");
    group = image::read_layered_file(image->lowers, "etc/group");
  } else {
    passwd = read_in_rootfs(rootfs, "etc/passwd");
    group = read_in_rootfs(rootfs, "etc/group");
  }
  std::string user_spec = !o.user.empty()                        ? o.user
                          : image && !image->config.user.empty() ? image->config.user
                                                                 : "0";
  user = resolve_user(user_spec, passwd, group);
  if (user_spec == "0" && user.home == "/") user.home = "/root";
  p.user.uid = user.uid;
  p.user.gid = user.gid;
  p.user.additional_gids = user.additional_gids;
  if (image) {
    p.args = image_command(o, image->config);
  } else {
    p.args = o.command.empty() ? default_command(user, rootfs) : o.command;
  }
  p.terminal = o.tty;
  if (!o.workdir.empty() && o.workdir.front() != '/')
    fail("-w: {} is not an absolute path", quote(o.workdir));
  std::string workdir = o.workdir;
  if (workdir.empty() && image) workdir = image->config.working_dir;
  p.cwd = workdir.empty() ? "/" : clean_path(workdir);

  if (!o.hostname.empty()) check_hostname(o.hostname);
  if (!o.hostname.empty()) {
    out.hostname = o.hostname;
  } else if (host_network(o)) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    out.hostname = host;
  } else {
    out.hostname = files.id.substr(0, 12);
  }
  spec.hostname = out.hostname;
  out.hosts = fmt::format(
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{}\n",
      out.hostname);

  p.env = {kDefaultPath, "HOSTNAME=" + out.hostname, "HOME=" + user.home};
  if (o.tty) p.env.push_back("TERM=xterm");
  // The image's Env over hull's defaults (its PATH wins), the flags over both: docker's order.
  if (image)
    for (const auto& e : image->config.env)
      if (e.find('=') != std::string::npos) set_env(p.env, e);
  for (const auto& f : o.env_files) {
    auto text = read_file_if_exists(f);
    if (!text) fail_err(ENOENT, "--env-file {}", f);
    for (const auto& e : parse_env_file(f, *text)) set_env(p.env, e);
  }
  for (const auto& e : o.env)
    if (auto v = parse_env("-e", e)) set_env(p.env, *v);

  std::vector<std::string> add, drop;
  for (const auto& c : o.cap_add) add.push_back(normalize_capability("--cap-add", c));
  for (const auto& c : o.cap_drop) drop.push_back(normalize_capability("--cap-drop", c));
  auto caps = held_only(effective_capabilities(add, drop, o.privileged), add);
  p.capabilities = oci::Capabilities{caps, caps, {}, caps, {}};

  for (const auto& u : o.ulimits) {
    oci::Rlimit rl = parse_ulimit(u);
    auto same = std::find_if(p.rlimits.begin(), p.rlimits.end(),
                             [&](auto& x) { return x.type == rl.type; });
    if (same != p.rlimits.end())
      *same = rl;
    else
      p.rlimits.push_back(rl);
  }
  SecurityOpts sec;
  for (const auto& s : o.security_opts) apply_security_opt(sec, s);
  p.no_new_privileges = sec.no_new_privileges;
  spec.process = p;

  // Namespaces: everything of its own but what the flags share with the host.
  using NS = oci::NamespaceType;
  for (NS t : {NS::pid, NS::ipc, NS::uts, NS::mount, NS::cgroup})
    spec.linux.namespaces.push_back({t, ""});
  if (net_mode != NetMode::host) spec.linux.namespaces.push_back({NS::network, ""});
  if (userns) {
    spec.linux.namespaces.push_back({NS::user, ""});
    IdRange u = userns_range(read_file_if_exists("/etc/subuid").value_or(""));
    IdRange g = userns_range(read_file_if_exists("/etc/subgid").value_or(""));
    spec.linux.uid_mappings = {{u.inside, u.outside, u.count}};
    spec.linux.gid_mappings = {{g.inside, g.outside, g.count}};
  }

  add_mounts(spec, o, files, userns, image);
  if (o.privileged) add_host_devices(spec.linux.devices, "/dev", 0);
  add_resources(spec, o);
  out.warnings = unthrottled_warnings(spec, o, image);
  add_sysctls(spec, o);
  add_seccomp(spec, sec, o.privileged);
  if (!o.privileged) {
    spec.linux.masked_paths = kMaskedPaths;
    spec.linux.readonly_paths = kReadonlyPaths;
  }
  std::string parent = o.cgroup_parent.empty() ? "/hull" : o.cgroup_parent;
  if (o.cgroup_manager == "systemd") {
    // systemd's slice:prefix:name: the scope hull-ID.scope in the parent slice (system.slice
    // for the default parent).
    bool slice = parent.size() > 6 && parent.compare(parent.size() - 6, 6, ".slice") == 0;
    if (!slice && parent != "/hull")
      fail("--cgroup-parent {}: with --cgroup-manager systemd the parent is a slice (NAME.slice)",
           quote(parent));
    spec.linux.cgroups_path = (slice ? parent : "system.slice") + ":hull:" + files.id;
  } else {
    spec.linux.cgroups_path = path_join(parent, files.id);
  }
  return out;
}

}  // namespace hull::frontend
