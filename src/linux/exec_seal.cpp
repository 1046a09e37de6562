#include "linux/exec_seal.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "linux/exec_stub/abi.h"
#include "util/error.h"
#include "util/fs.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

// From exec_stub_blob.S: the stub binary built from exec_stub/stub.c.
extern "C" const char hull_exec_stub_start[];
extern "C" const char hull_exec_stub_end[];

namespace hull::linux {

std::string_view exec_stub_image() {
  return {hull_exec_stub_start, static_cast<size_t>(hull_exec_stub_end - hull_exec_stub_start)};
}

void make_undumpable() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) fail_errno("make the runtime process non-dumpable");
}

Fd open_exec_stub() {
  // MFD_EXEC: kernels with vm.memfd_noexec=1 make memfds non-executable unless asked.
  int fd = ::memfd_create(HULL_STUB_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = ::memfd_create(HULL_STUB_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    if (errno == EACCES)
      fail_errno("create the exec stub (vm.memfd_noexec=2 forbids executable memfds; hull needs one)");
    fail_errno("create the exec stub");
  }
  Fd stub(fd);
  write_all(fd, exec_stub_image(), "exec stub");
  constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (::fcntl(fd, F_ADD_SEALS, kSeals) < 0) fail_errno("seal the exec stub");
  return stub;
}

void exec_through_stub(int stub_fd, const ExecRequest& r) {
  std::string report = std::to_string(r.report_fd);
  std::vector<const char*> argv = {HULL_STUB_NAME, report.c_str(), r.path.c_str(), r.lsm_attr.c_str(),
                                   r.lsm_label.c_str()};
  static_assert(HULL_STUB_FIXED_ARGS == 5);
  for (const auto& a : r.argv) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  std::vector<const char*> envp;
  for (const auto& e : r.env) envp.push_back(e.c_str());
  envp.push_back(nullptr);
  if (r.report_fd >= 0 && ::fcntl(r.report_fd, F_SETFD, 0) < 0) fail_errno("keep the report fd for the exec stub");
  ::syscall(SYS_execveat, stub_fd, "", argv.data(), envp.data(), AT_EMPTY_PATH);
  int err = errno;
  if (err == ENOSYS || err == EPERM) {
    // A seccomp profile that allows execve but not execveat: reach the memfd through /proc.
    std::string path = fmt::format("/proc/self/fd/{}", stub_fd);
    ::execve(path.c_str(), const_cast<char* const*>(argv.data()), const_cast<char* const*>(envp.data()));
  }
  if (r.report_fd >= 0) ::fcntl(r.report_fd, F_SETFD, FD_CLOEXEC);
  if (err == E2BIG) {
    size_t bytes = 0;
    for (const auto& a : r.argv) bytes += a.size() + 1;
    for (const auto& e : r.env) bytes += e.size() + 1;
    fail_err(err, "exec {}: process.args and process.env ({} strings, {} bytes) are more than the kernel "
             "takes (ARG_MAX: a quarter of the stack limit, each string at most 128 KiB)",
             r.path, r.argv.size() + r.env.size(), bytes);
  }
  fail_err(err, "exec the exec stub");
}

}  // namespace hull::linux
