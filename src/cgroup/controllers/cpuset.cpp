// cpuset: which CPUs and memory nodes the container may use.
#include "cgroup/controller.h"
#include "util/strings.h"

namespace hull::cgroup {
namespace {

bool applies(const oci::Resources& r) {
  return r.cpu && (!r.cpu->cpus.empty() || !r.cpu->mems.empty());
}

// The file names are the same on v1 and v2.
void apply(const std::string& dir, const oci::Resources& r, bool) {
  if (!r.cpu->cpus.empty())
    write_value(dir, "cpuset.cpus", r.cpu->cpus, "linux.resources.cpu.cpus", quote(r.cpu->cpus));
  if (!r.cpu->mems.empty())
    write_value(dir, "cpuset.mems", r.cpu->mems, "linux.resources.cpu.mems", quote(r.cpu->mems));
}

void stats(const std::string& dir, Stats& s) {
  s.cpuset.cpus = parse_cpu_list(read_value(dir, "cpuset.effective_cpus").value_or(""));
  s.cpuset.mems = parse_cpu_list(read_value(dir, "cpuset.effective_mems").value_or(""));
}

}  // namespace

extern const Controller kCpusetController = {
    "cpuset", "cpuset", "linux.resources.cpu", applies, apply, apply, stats, stats};

}  // namespace hull::cgroup
