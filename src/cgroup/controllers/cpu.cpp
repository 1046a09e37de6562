// cpu: shares/weight, CFS quota and period, burst, realtime group scheduling, idle.
#include <unistd.h>

#include "cgroup/controller.h"
#include "util/error.h"
#include "util/log.h"

namespace hull::cgroup {
namespace {

constexpr const char* kPath = "linux.resources.cpu";

std::string field(const char* name) {
  return fmt::format("{}.{}", kPath, name);
}

bool applies(const oci::Resources& r) {
  if (!r.cpu) return false;
  const auto& c = *r.cpu;
  return is_set(c.shares) || is_set(c.quota) || is_set(c.period) || is_set(c.burst) ||
         is_set(c.realtime_runtime) || is_set(c.realtime_period) || c.idle.has_value();
}

void check_quota_period(const oci::CpuResources& c) {
  if (is_set(c.quota) && *c.quota < -1)
    fail_as(ErrorKind::invalid_config,
            "{}: {} is invalid (microseconds per period, or -1 for no limit)", field("quota"),
            *c.quota);
  if (is_set(c.quota) && *c.quota > 0 && *c.quota < 1000)
    fail_as(ErrorKind::invalid_config, "{}: {} is below the kernel's minimum of 1000 microseconds",
            field("quota"), *c.quota);
  if (is_set(c.period) && (*c.period < 1000 || *c.period > 1000000))
    fail_as(ErrorKind::invalid_config,
            "{}: {} is outside the kernel's range 1000..1000000 microseconds", field("period"),
            *c.period);
}

// cpu.shares: 2..262144 on v1 (the kernel clamps silently, so out-of-range is refused here).
void check_shares(const oci::CpuResources& c) {
  if (is_set(c.shares) && (*c.shares < 2 || *c.shares > 262144))
    fail_as(ErrorKind::invalid_config, "{}: {} is outside 2..262144", field("shares"), *c.shares);
}

void apply_v1(const std::string& dir, const oci::Resources& r, bool) {
  const auto& c = *r.cpu;
  check_shares(c);
  check_quota_period(c);
  if (is_set(c.shares)) write_value(dir, "cpu.shares", std::to_string(*c.shares), field("shares"));
  // A smaller period can be refused (EINVAL) while the old quota/new period ratio exceeds
  // the parent's: then write the quota first and the period again.
  bool period_pending = false;
  if (is_set(c.period)) {
    try {
      write_value(dir, "cpu.cfs_period_us", std::to_string(*c.period), field("period"));
    } catch (const Error& e) {
      if (e.err() != EINVAL || !is_set(c.quota)) throw;
      period_pending = true;
    }
  }
  if (is_set(c.quota))
    write_value(dir, "cpu.cfs_quota_us", std::to_string(*c.quota), field("quota"));
  if (period_pending)
    write_value(dir, "cpu.cfs_period_us", std::to_string(*c.period), field("period"));
  if (is_set(c.burst)) {
    if (!has_file(dir, "cpu.cfs_burst_us"))
      fail_as(ErrorKind::invalid_config, "{}: {}: this kernel has no CFS burst", field("burst"),
              *c.burst);
    write_value(dir, "cpu.cfs_burst_us", std::to_string(*c.burst), field("burst"));
  }
  // The period first: a runtime is checked against the period in force.
  if (is_set(c.realtime_period))
    write_value(dir, "cpu.rt_period_us", std::to_string(*c.realtime_period),
                field("realtimePeriod"));
  if (is_set(c.realtime_runtime))
    write_value(dir, "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime),
                field("realtimeRuntime"));
  if (c.idle) {
    if (!has_file(dir, "cpu.idle"))
      fail_as(ErrorKind::invalid_config, "{}: {}: this kernel has no SCHED_IDLE groups",
              field("idle"), *c.idle);
    write_value(dir, "cpu.idle", std::to_string(*c.idle), field("idle"));
  }
}

void apply_v2(const std::string& dir, const oci::Resources& r, bool) {
  const auto& c = *r.cpu;
  check_shares(c);
  check_quota_period(c);
  if (is_set(c.realtime_runtime) || is_set(c.realtime_period))
    fail_as(ErrorKind::invalid_config, "{}: cgroup v2 has no realtime group scheduling",
            field(is_set(c.realtime_runtime) ? "realtimeRuntime" : "realtimePeriod"));
  if (is_set(c.shares))
    write_value(dir, "cpu.weight", std::to_string(shares_to_weight(*c.shares)), field("shares"),
                std::to_string(*c.shares));
  if (is_set(c.quota) || is_set(c.period)) {
    // cpu.max is "QUOTA PERIOD"; an absent quota keeps "max", an absent period the kernel's.
    std::string quota = is_set(c.quota) && *c.quota > 0 ? std::to_string(*c.quota) : "max";
    if (!is_set(c.quota)) {
      // Only the period changes: keep the quota in force.
      auto cur = read_value(dir, "cpu.max").value_or("max");
      quota = cur.substr(0, cur.find(' '));
    }
    std::string v = is_set(c.period) ? fmt::format("{} {}", quota, *c.period) : quota;
    write_value(dir, "cpu.max", v, field(is_set(c.quota) ? "quota" : "period"));
  }
  if (is_set(c.burst)) write_value(dir, "cpu.max.burst", std::to_string(*c.burst), field("burst"));
  if (c.idle) write_value(dir, "cpu.idle", std::to_string(*c.idle), field("idle"));
}

void stats_v1(const std::string& dir, Stats& s) {
  auto st = read_keyed(dir, "cpu.stat");
  s.cpu.periods = st["nr_periods"];
  s.cpu.throttled_periods = st["nr_throttled"];
  s.cpu.throttled_ns = st["throttled_time"];
}

void stats_v2(const std::string& dir, Stats& s) {
  auto st = read_keyed(dir, "cpu.stat");
  s.cpu.usage_ns = st["usage_usec"] * 1000;
  s.cpu.user_ns = st["user_usec"] * 1000;
  s.cpu.system_ns = st["system_usec"] * 1000;
  s.cpu.periods = st["nr_periods"];
  s.cpu.throttled_periods = st["nr_throttled"];
  s.cpu.throttled_ns = st["throttled_usec"] * 1000;
}

}  // namespace

extern const Controller kCpuController = {"cpu",    "cpu",    kPath,    applies,
                                          apply_v1, apply_v2, stats_v1, stats_v2};

}  // namespace hull::cgroup
