// runtime-spec v1.2 (config.md, config-linux.md) as typed structs. No syscalls here:
// oci/ knows nothing of Linux, linux/ knows nothing of this JSON (docs/architecture.md, Layers).
// Pointer fields of the spec ("*int64" in the Go types) are std::optional: absent != zero.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hull::oci {

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

// The largest user or group id a process may be given. The kernel reads (uid_t)-1 in setresuid
// and setgroups as "leave unchanged", so 4294967295 would run as root; runc refuses everything
// above INT32_MAX, and so does hull (issue 16).
inline constexpr uint32_t kMaxProcessId = 0x7fffffff;

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
  std::string username;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct Scheduler {
  std::string policy;  // SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE, SCHED_DEADLINE
  int32_t nice = 0;
  int32_t priority = 0;
  std::vector<std::string> flags;
  uint64_t runtime = 0, deadline = 0, period = 0;
};

struct IoPriority {
  std::string klass;  // IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE
  int32_t priority = 0;
};

struct ExecCpuAffinity {
  std::string initial, final;
};

struct ConsoleSize {
  uint32_t height = 0, width = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::optional<int> oom_score_adj;
  std::optional<Scheduler> scheduler;
  std::string selinux_label;
  std::optional<IoPriority> io_priority;
  std::optional<ExecCpuAffinity> exec_cpu_affinity;
};

struct Root {
  std::string path;
  bool readonly = false;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  std::vector<IdMapping> uid_mappings, gid_mappings;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  bool env_given = false;  // no "env" at all: the hook inherits the runtime's environment (runc)
  std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart, poststop;
};

enum class NamespaceType { pid, network, mount, ipc, uts, user, cgroup, time };
const char* namespace_type_name(NamespaceType t);

struct Namespace {
  NamespaceType type;
  std::string path;  // empty: create a new one; otherwise join it
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

struct Device {
  char type = 'c';  // c, b, u, p
  std::string path;
  int64_t major = 0, minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid, gid;
};

struct DeviceRule {
  bool allow = false;
  std::string type;  // a, c, b; empty = a
  std::optional<int64_t> major, minor;
  std::string access;  // rwm subset; empty = rwm
};

struct MemoryResources {
  std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus, mems;
  std::optional<int64_t> idle;
};

struct WeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
};

struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
};

struct BlockIoResources {
  std::optional<uint16_t> weight, leaf_weight;
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops,
      throttle_write_iops;
};

struct HugepageLimit {
  std::string page_size;  // "2MB"
  uint64_t limit = 0;
};

struct NetworkPriority {
  std::string name;
  uint32_t priority = 0;
};

struct NetworkResources {
  std::optional<uint32_t> class_id;
  std::vector<NetworkPriority> priorities;
};

struct RdmaLimit {
  std::optional<uint32_t> hca_handles, hca_objects;
};

struct Resources {
  std::vector<DeviceRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<int64_t> pids_limit;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<NetworkResources> network;
  std::map<std::string, RdmaLimit> rdma;
  std::map<std::string, std::string> unified;
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0, value_two = 0;
  std::string op;  // SCMP_CMP_NE, ...
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
};

struct IntelRdt {
  std::string clos_id, l3_cache_schema, mem_bw_schema;
  std::vector<std::string> schemata;
  bool enable_monitoring = false;
};

struct Personality {
  std::string domain;  // LINUX, LINUX32
  std::vector<std::string> flags;
};

struct NetDevice {
  std::string name;  // name inside the container; empty = keep the host name
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;
  std::string rootfs_propagation;
  std::optional<Seccomp> seccomp;
  std::map<std::string, std::string> sysctl;
  std::vector<std::string> masked_paths, readonly_paths;
  std::string mount_label;
  std::optional<IntelRdt> intel_rdt;
  std::optional<Personality> personality;
  std::map<std::string, NetDevice> net_devices;

  const Namespace* find_namespace(NamespaceType t) const;
  bool has_namespace(NamespaceType t) const { return find_namespace(t) != nullptr; }
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  Root root;
  std::string hostname, domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  Linux linux;
};

}  // namespace hull::oci
