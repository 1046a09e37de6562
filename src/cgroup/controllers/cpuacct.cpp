// cpuacct (v1 only): CPU time used, in total, per CPU, user and system. On v2 cpu.stat has it.
#include <unistd.h>

#include "cgroup/controller.h"
#include "util/strings.h"

namespace hull::cgroup {
namespace {

bool applies(const oci::Resources&) {
  return false;
}

std::vector<uint64_t> read_list(const std::string& dir, const char* file) {
  std::vector<uint64_t> out;
  for (const auto& v : split(read_value(dir, file).value_or(""), ' '))
    if (auto n = parse_u64(v)) out.push_back(*n);
  return out;
}

void stats_v1(const std::string& dir, Stats& s) {
  s.cpu.usage_ns = read_u64(dir, "cpuacct.usage");
  s.cpu.per_cpu_ns = read_list(dir, "cpuacct.usage_percpu");
  s.cpu.per_cpu_user_ns = read_list(dir, "cpuacct.usage_percpu_user");
  s.cpu.per_cpu_system_ns = read_list(dir, "cpuacct.usage_percpu_sys");
  // cpuacct.stat counts USER_HZ ticks.
  static const uint64_t ns_per_tick = 1000000000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  auto st = read_keyed(dir, "cpuacct.stat");
  s.cpu.user_ns = st["user"] * ns_per_tick;
  s.cpu.system_ns = st["system"] * ns_per_tick;
}

}  // namespace

extern const Controller kCpuacctController = {
    "cpuacct", nullptr, "linux.resources.cpu", applies, nullptr, nullptr, stats_v1, nullptr};

}  // namespace hull::cgroup
