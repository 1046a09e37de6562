#include "linux/mount.h"

#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "linux/path.h"
#include "util/error.h"
#include "util/strings.h"

#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

namespace hull::linux {
namespace {

struct FlagOption {
  const char* name;
  bool clear;  // true: this option turns the flag off
  unsigned long flag;
};

constexpr FlagOption kFlagOptions[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},          {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},      {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},        {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},      {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},   {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},      {"nomand", true, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},    {"atime", true, MS_NOATIME},
    {"nodiratime", false, MS_NODIRATIME}, {"diratime", true, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},  {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME}, {"nostrictatime", true, MS_STRICTATIME},
    {"lazytime", false, MS_LAZYTIME},  {"nolazytime", true, MS_LAZYTIME},
    {"iversion", false, MS_I_VERSION}, {"noiversion", true, MS_I_VERSION},
    {"silent", false, MS_SILENT},      {"loud", true, MS_SILENT},
    {"nosymfollow", false, MS_NOSYMFOLLOW}, {"symfollow", true, MS_NOSYMFOLLOW},
};

struct PropOption {
  const char* name;
  unsigned long flags;
};

constexpr PropOption kPropagation[] = {
    {"private", MS_PRIVATE},           {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},             {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},               {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE},     {"runbindable", MS_UNBINDABLE | MS_REC},
};

struct AttrOption {
  const char* name;
  bool clear;
  unsigned long long attr;
};

// Recursive flags (runtime-spec 1.1): applied with mount_setattr(AT_RECURSIVE).
constexpr AttrOption kRecursiveAttrs[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},       {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},   {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},     {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},   {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME}, {"ratime", true, MOUNT_ATTR__ATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME}, {"rnorelatime", true, MOUNT_ATTR__ATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME}, {"rnostrictatime", true, MOUNT_ATTR__ATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW}, {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

}  // namespace

unsigned long propagation_flags(const std::string& name) {
  for (const auto& p : kPropagation)
    if (name == p.name) return p.flags;
  return 0;
}

MountOptions parse_mount_options(const std::vector<std::string>& options) {
  MountOptions out;
  std::vector<std::string> data;
  for (const auto& opt : options) {
    bool known = false;
    for (const auto& f : kFlagOptions) {
      if (opt == f.name) {
        if (f.clear) {
          out.flags &= ~f.flag;
          out.clear |= f.flag;
        } else {
          out.flags |= f.flag;
          out.clear &= ~f.flag;
        }
        known = true;
        break;
      }
    }
    if (known) continue;
    if (opt == "bind") {
      out.bind = true;
      continue;
    }
    if (opt == "rbind") {
      out.bind = out.recursive = true;
      continue;
    }
    if (unsigned long p = propagation_flags(opt)) {
      out.propagation = p;
      continue;
    }
    for (const auto& a : kRecursiveAttrs) {
      if (opt == a.name) {
        if (a.clear) out.attr_clr |= a.attr;
        else out.attr_set |= a.attr;
        known = true;
        break;
      }
    }
    if (known) continue;
    if (opt == "idmap" || opt == "ridmap") {
      out.idmap = true;
      if (opt == "ridmap") out.recursive = true;
      continue;
    }
    if (opt == "tmpcopyup") {
      out.tmpcopyup = true;
      continue;
    }
    data.push_back(opt);
  }
  out.data = join(data, ",");
  return out;
}

void mount_at_fd(const std::string& source, int target_fd, const std::string& what,
                 const std::string& fstype, unsigned long flags, const std::string& data) {
  std::string target = fd_path(target_fd);
  if (::mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) < 0) {
    int err = errno;
    if (flags & MS_BIND) fail_err(err, "bind mount {} on {}", source, what);
    if (flags & MS_REMOUNT) fail_err(err, "remount {}", what);
    fail_err(err, "mount {} on {}", fstype.empty() ? source : fstype, what);
  }
}

void remount_bind(int target_fd, const std::string& what, unsigned long flags) {
  std::string target = fd_path(target_fd);
  unsigned long f = MS_BIND | MS_REMOUNT | flags;
  if (::mount(nullptr, target.c_str(), nullptr, f, nullptr) == 0) return;
  int err = errno;
  if (err == EPERM) {
    // In a user namespace the kernel locks flags inherited from the source mount (nodev,
    // nosuid, noexec, atime): a remount must keep them. Add what the source has and retry.
    struct statvfs sv;
    if (::statvfs(target.c_str(), &sv) == 0) {
      unsigned long locked = sv.f_flag & (ST_NODEV | ST_NOSUID | ST_NOEXEC | ST_NOATIME |
                                          ST_NODIRATIME | ST_RELATIME | ST_RDONLY);
      if (::mount(nullptr, target.c_str(), nullptr, f | locked, nullptr) == 0) return;
      err = errno;
    }
  }
  fail_err(err, "remount {}", what);
}

}  // namespace hull::linux
