#include "linux/lsm.h"

#include <fmt/format.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/strings.h"

namespace hull::linux {
namespace {
constexpr long kSelinuxMagic = 0xf97cff8c;
}

bool apparmor_enabled() {
  auto v = read_file_if_exists("/sys/module/apparmor/parameters/enabled");
  return v && trim(*v) == "Y";
}

bool selinux_enabled() {
  struct statfs sf;
  return ::statfs("/sys/fs/selinux", &sf) == 0 && sf.f_type == kSelinuxMagic;
}

ExecLabel apparmor_exec_label(const std::string& profile) {
  const char* own = "/proc/thread-self/attr/apparmor/exec";
  return {::access(own, F_OK) == 0 ? own : "/proc/thread-self/attr/exec", "exec " + profile};
}

ExecLabel selinux_exec_label(const std::string& label) { return {"/proc/thread-self/attr/exec", label}; }

std::string with_mount_label(const std::string& data, const std::string& label) {
  std::string context = fmt::format("context={}", quote(label));
  return data.empty() ? context : data + "," + context;
}

}  // namespace hull::linux
