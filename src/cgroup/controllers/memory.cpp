// memory: limit, reservation, swap (v1 memory+swap, v2 swap alone), kernel memory where v1
// has it, swappiness, the OOM killer switch; usage and OOM kills.
#include <cerrno>

#include "cgroup/controller.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::cgroup {
namespace {

constexpr const char* kPath = "linux.resources.memory";

std::string field(const char* name) {
  return fmt::format("{}.{}", kPath, name);
}

bool applies(const oci::Resources& r) {
  if (!r.memory) return false;
  const auto& m = *r.memory;
  return is_set(m.limit) || is_set(m.reservation) || is_set(m.swap) || is_set(m.kernel) ||
         is_set(m.kernel_tcp) || m.swappiness.has_value() || m.disable_oom_killer.value_or(false) ||
         m.use_hierarchy.has_value();
}

void check_bytes(const std::optional<int64_t>& v, const char* name) {
  if (is_set(v) && *v < -1)
    fail_as(ErrorKind::invalid_config, "{}: {} is invalid (bytes, or -1 for no limit)", field(name),
            *v);
}

void validate(const oci::MemoryResources& m) {
  check_bytes(m.limit, "limit");
  check_bytes(m.reservation, "reservation");
  check_bytes(m.swap, "swap");
  check_bytes(m.kernel, "kernel");
  check_bytes(m.kernel_tcp, "kernelTCP");
  if (m.swappiness && *m.swappiness > 100)
    fail_as(ErrorKind::invalid_config, "{}: {} is outside 0..100", field("swappiness"),
            *m.swappiness);
}

// The kernel refuses to lower a limit below what is in use (v1: EBUSY, after reclaim fails):
// checkBeforeUpdate asks for a clear refusal up front instead.
void check_before_update(const oci::MemoryResources& m, uint64_t usage) {
  if (!m.check_before_update.value_or(false) || !is_set(m.limit) || *m.limit < 0) return;
  if (static_cast<uint64_t>(*m.limit) < usage)
    fail_as(ErrorKind::invalid_config, "{}: {} is below the current usage {} (checkBeforeUpdate)",
            field("limit"), *m.limit, usage);
}

// v1 has separate kernel memory limits; recent kernels accept and ignore kmem.limit_in_bytes.
void write_kernel_v1(const std::string& dir, const char* file, int64_t v, const char* name) {
  if (!has_file(dir, file)) {
    log::warn("{}: {}: this kernel has no {}; ignored", field(name), v, file);
    return;
  }
  try {
    write_value(dir, file, std::to_string(v), field(name));
  } catch (const Error& e) {
    if (e.err() != EOPNOTSUPP) throw;
    log::warn("{}: {}: this kernel no longer limits kernel memory apart; ignored", field(name), v);
  }
}

void apply_v1(const std::string& dir, const oci::Resources& r, bool update) {
  const auto& m = *r.memory;
  validate(m);
  int64_t limit = m.limit.value_or(0), swap = m.swap.value_or(0);
  if (limit > 0 && swap > 0 && swap < limit)
    fail_as(ErrorKind::invalid_config,
            "{}: {} is below memory.limit {} (on cgroup v1 swap counts memory plus swap)",
            field("swap"), swap, limit);
  if (update) check_before_update(m, read_u64(dir, "memory.usage_in_bytes"));
  // Unlimited memory with swap unset: both unlimited (runc, crun). And with a memory+swap
  // limit still in force (set at create, kept by update's merge): v1 refuses a memory limit
  // above memsw at every step, so `update --memory -1` lifts memsw with it.
  if (limit == -1 && swap >= 0) swap = -1;
  bool have_memsw = has_file(dir, "memory.memsw.limit_in_bytes");
  if (swap != 0 && !have_memsw) {
    if (swap > 0)
      fail_as(ErrorKind::invalid_config,
              "{}: {}: swap accounting is off in this kernel (no memory.memsw)", field("swap"),
              swap);
    swap = 0;
  }
  auto write_limit = [&] {
    if (limit != 0)
      write_value(dir, "memory.limit_in_bytes", std::to_string(limit), field("limit"));
  };
  auto write_swap = [&] {
    if (swap != 0)
      write_value(dir, "memory.memsw.limit_in_bytes", std::to_string(swap), field("swap"));
  };
  // The kernel keeps limit <= memsw at every step: raise memsw first, lower the limit first.
  uint64_t cur_limit = read_u64(dir, "memory.limit_in_bytes");
  if (swap == -1 || (swap > 0 && cur_limit < static_cast<uint64_t>(swap))) {
    write_swap();
    write_limit();
  } else {
    write_limit();
    write_swap();
  }
  if (is_set(m.reservation))
    write_value(dir, "memory.soft_limit_in_bytes", std::to_string(*m.reservation),
                field("reservation"));
  if (is_set(m.kernel)) write_kernel_v1(dir, "memory.kmem.limit_in_bytes", *m.kernel, "kernel");
  if (is_set(m.kernel_tcp))
    write_kernel_v1(dir, "memory.kmem.tcp.limit_in_bytes", *m.kernel_tcp, "kernelTCP");
  if (m.swappiness)
    write_value(dir, "memory.swappiness", std::to_string(*m.swappiness), field("swappiness"));
  if (m.disable_oom_killer.value_or(false))
    write_value(dir, "memory.oom_control", "1", field("disableOOMKiller"), "true");
  if (m.use_hierarchy) {
    // Kernels since 5.x always account hierarchically and refuse "0".
    if (*m.use_hierarchy)
      write_value(dir, "memory.use_hierarchy", "1", field("useHierarchy"), "true");
    else if (read_u64(dir, "memory.use_hierarchy") == 1)
      log::warn("{}: false: this kernel always accounts memory hierarchically; ignored",
                field("useHierarchy"));
  }
}

std::string v2_bytes(int64_t v) {
  return v == -1 ? "max" : std::to_string(v);
}

void apply_v2(const std::string& dir, const oci::Resources& r, bool update) {
  const auto& m = *r.memory;
  validate(m);
  int64_t limit = m.limit.value_or(0);
  int64_t swap = swap_to_v2(m.swap.value_or(0), limit);
  if (update) check_before_update(m, read_u64(dir, "memory.current"));
  if (swap != 0) {
    if (!has_file(dir, "memory.swap.max")) {
      if (swap > 0)
        fail_as(ErrorKind::invalid_config,
                "{}: {}: swap accounting is off in this kernel (no memory.swap.max)", field("swap"),
                *m.swap);
    } else {
      write_value(dir, "memory.swap.max", v2_bytes(swap), field("swap"),
                  std::to_string(m.swap.value_or(0)));
    }
  }
  if (limit != 0)
    write_value(dir, "memory.max", v2_bytes(limit), field("limit"), std::to_string(limit));
  if (is_set(m.reservation))
    write_value(dir, "memory.low", v2_bytes(*m.reservation), field("reservation"),
                std::to_string(*m.reservation));
  // What v2 has no knob for: kernel memory is charged to memory.max; there is no OOM switch.
  if (is_set(m.kernel))
    log::warn("{}: cgroup v2 counts kernel memory in memory.max; ignored", field("kernel"));
  if (is_set(m.kernel_tcp))
    log::warn("{}: cgroup v2 counts socket memory in memory.max; ignored", field("kernelTCP"));
  if (m.swappiness && *m.swappiness != 60)
    log::warn("{}: cgroup v2 has no per-cgroup swappiness; ignored", field("swappiness"));
  if (m.disable_oom_killer.value_or(false))
    log::warn("{}: cgroup v2 cannot disable the OOM killer; ignored", field("disableOOMKiller"));
}

MemoryEntry entry_v1(const std::string& dir, const std::string& prefix) {
  MemoryEntry e;
  e.usage = read_u64(dir, (prefix + ".usage_in_bytes").c_str());
  e.max_usage = read_u64(dir, (prefix + ".max_usage_in_bytes").c_str());
  e.limit = read_u64(dir, (prefix + ".limit_in_bytes").c_str());
  e.failcnt = read_u64(dir, (prefix + ".failcnt").c_str());
  return e;
}

void stats_v1(const std::string& dir, Stats& s) {
  s.memory.usage = entry_v1(dir, "memory");
  s.memory.swap = entry_v1(dir, "memory.memsw");
  s.memory.kernel = entry_v1(dir, "memory.kmem");
  s.memory.kernel_tcp = entry_v1(dir, "memory.kmem.tcp");
  s.memory.raw = read_keyed(dir, "memory.stat");
  s.memory.cache = s.memory.raw["cache"];
  s.memory.oom_kills = read_keyed(dir, "memory.oom_control")["oom_kill"];
}

void stats_v2(const std::string& dir, Stats& s) {
  s.memory.usage.usage = read_u64(dir, "memory.current");
  s.memory.usage.max_usage = read_u64(dir, "memory.peak");
  s.memory.usage.limit = read_u64(dir, "memory.max");
  auto events = read_keyed(dir, "memory.events");
  s.memory.usage.failcnt = events["max"];
  s.memory.oom_kills = events["oom_kill"];
  // As runc: "swap" is memory plus swap, the v1 meaning, so tools read one shape.
  uint64_t swap_cur = read_u64(dir, "memory.swap.current"),
           swap_max = read_u64(dir, "memory.swap.max");
  s.memory.swap.usage = s.memory.usage.usage + swap_cur;
  s.memory.swap.limit = swap_max == UINT64_MAX || s.memory.usage.limit == UINT64_MAX
                            ? UINT64_MAX
                            : s.memory.usage.limit + swap_max;
  s.memory.raw = read_keyed(dir, "memory.stat");
  s.memory.cache = s.memory.raw["file"];
}

}  // namespace

extern const Controller kMemoryController = {"memory", "memory", kPath,    applies,
                                             apply_v1, apply_v2, stats_v1, stats_v2};

}  // namespace hull::cgroup
