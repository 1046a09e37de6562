#include "linux/self_image.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <linux/prctl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "linux/syscalls.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/proc.h"
#include "util/strings.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern char** environ;

namespace hull::linux {
namespace {

constexpr unsigned kOpenTreeClone = 1;        // OPEN_TREE_CLONE
constexpr uint64_t kMountAttrReadOnly = 0x1;  // MOUNT_ATTR_RDONLY
constexpr uint64_t kMountAttrNoSuid = 0x2;    // MOUNT_ATTR_NOSUID
constexpr uint64_t kMountAttrNoDev = 0x4;     // MOUNT_ATTR_NODEV

// A detached read-only bind mount of the running binary (an O_PATH fd on it), or an empty Fd
// when this process may not make mounts (rootless) or the kernel lacks the new mount API.
Fd read_only_mount_of_self() {
  Fd tree(sys::open_tree(AT_FDCWD, "/proc/self/exe", kOpenTreeClone | O_CLOEXEC));
  if (!tree) {
    if (errno == EPERM || errno == ENOSYS || errno == EINVAL) return {};
    fail_errno("open_tree /proc/self/exe (a read-only image of hull)");
  }
  sys::MountAttr attr{kMountAttrReadOnly | kMountAttrNoSuid | kMountAttrNoDev, 0, 0, 0};
  if (sys::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr) < 0) {
    if (errno == ENOSYS) return {};
    fail_errno("make hull's image read-only (mount_setattr)");
  }
  return tree;
}

// runc's way, for when no mount can be made: a copy in a memfd sealed against every change.
Fd sealed_copy_of_self() {
  Fd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) fail_errno("open /proc/self/exe");
  struct stat st;
  if (::fstat(self.get(), &st) < 0) fail_errno("stat /proc/self/exe");
  int fd = ::memfd_create("hull", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = ::memfd_create("hull", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) fail_errno("create a sealed copy of hull (memfd_create)");
  Fd copy(fd);
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = ::sendfile(fd, self.get(), &off, static_cast<size_t>(st.st_size - off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail_errno("copy hull into a sealed memfd");
  }
  constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (::fcntl(fd, F_ADD_SEALS, kSeals) < 0) fail_errno("seal hull's copy");
  return copy;
}

// The page range [first, last) of the main program's PT_GNU_RELRO: pages the loader wrote
// (relocations) and then made read-only, so their bytes are not the file's.
// The load bias comes from the loader (the first object dl_iterate_phdr names is the main
// program), not from PT_PHDR, which a binary need not have.
std::pair<uintptr_t, uintptr_t> relro_pages() {
  struct Main {
    const ElfW(Phdr) * phdr = nullptr;
    size_t phnum = 0;
    uintptr_t base = 0;
  } m;
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* out = static_cast<Main*>(data);
        *out = {info->dlpi_phdr, info->dlpi_phnum, static_cast<uintptr_t>(info->dlpi_addr)};
        return 1;
      },
      &m);
  const auto* phdr = m.phdr;
  const size_t phnum = m.phnum;
  const uintptr_t base = m.base;
  if (!phdr) return {0, 0};
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  for (size_t i = 0; i < phnum; ++i) {
    if (phdr[i].p_type != PT_GNU_RELRO) continue;
    uintptr_t start = base + phdr[i].p_vaddr;
    return {start & ~(page - 1), (start + phdr[i].p_memsz + page - 1) & ~(page - 1)};
  }
  return {0, 0};
}

struct Mapping {
  uintptr_t start = 0, end = 0;
  off_t offset = 0;
  int prot = 0;
  bool copy = false;  // bytes that are not the file's (written, relocated): copied over
};

// Every mapping of this process that comes from the file `st` names, from /proc/self/maps.
std::vector<Mapping> mappings_of(const struct stat& st) {
  std::vector<Mapping> out;
  Fd maps(::open("/proc/self/maps", O_RDONLY | O_CLOEXEC));
  if (!maps) return {};
  std::string text;
  try {
    text = read_fd(maps.get());
  } catch (const Error&) {
    return {};  // nothing switched: the caller re-executes
  }
  auto [relro_first, relro_last] = relro_pages();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    unsigned long start, end, offset, major, minor, inode;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s %lx %lx:%lx %lu", &start, &end, perms, &offset,
                    &major, &minor, &inode) != 7)
      continue;
    if (inode != st.st_ino || ::makedev(major, minor) != st.st_dev) continue;
    Mapping m;
    m.start = start;
    m.end = end;
    m.offset = static_cast<off_t>(offset);
    m.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
             (perms[2] == 'x' ? PROT_EXEC : 0);
    // A shared mapping of hull's own file is not something hull makes: leave it to the exec.
    if (perms[3] != 'p') return {};
    m.copy = (m.prot & PROT_WRITE) || (start < relro_last && end > relro_first);
    out.push_back(m);
  }
  return out;
}

// The fields of /proc/self/stat as numbers, numbered as there (util/proc.h); 0 where a field
// is not one.
std::vector<unsigned long long> self_stat() {
  std::vector<unsigned long long> out;
  for (const std::string& field : read_proc_stat_fields(::getpid()))
    out.push_back(parse_u64(field).value_or(0));
  return out;
}

// Points /proc/self/exe at `fd`. PR_SET_MM_EXE_FILE wants CAP_SYS_RESOURCE; PR_SET_MM_MAP
// (CRIU's call) takes CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE instead, but sets every field of
// the memory map with it: they are given as the kernel reports them (`stat`, brk(0)), so
// nothing but the exe changes.
bool set_exe_file(int fd, const std::vector<unsigned long long>& stat) {
  if (::prctl(PR_SET_MM, PR_SET_MM_EXE_FILE, fd, 0, 0) == 0) return true;
  if (errno != EPERM || stat.size() <= 51) return false;
  struct prctl_mm_map map {};
  map.start_code = stat[26];
  map.end_code = stat[27];
  map.start_stack = stat[28];
  map.start_data = stat[45];
  map.end_data = stat[46];
  map.start_brk = stat[47];
  map.arg_start = stat[48];
  map.arg_end = stat[49];
  map.env_start = stat[50];
  map.env_end = stat[51];
  map.brk = static_cast<uint64_t>(::syscall(SYS_brk, 0));
  map.auxv = nullptr;  // auxv_size 0: the saved auxv stays
  map.auxv_size = 0;
  map.exe_fd = static_cast<uint32_t>(fd);
  return ::prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof map, 0) == 0;
}

#if defined(__SANITIZE_ADDRESS__)
#define HULL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HULL_ASAN 1
#endif
#endif

// A whole mapping's bytes, page by page. With AddressSanitizer, hull's data segment holds
// poisoned redzones between its globals, which memcpy (intercepted and checked) refuses to
// read: there the copy is word by word and not instrumented.
#ifdef HULL_ASAN
__attribute__((no_sanitize_address)) void copy_mapping(void* to, const void* from, size_t len) {
  auto* d = static_cast<volatile unsigned long*>(to);
  auto* s = static_cast<const volatile unsigned long*>(from);
  for (size_t i = 0; i < len / sizeof(unsigned long); ++i) d[i] = s[i];
}
#else
void copy_mapping(void* to, const void* from, size_t len) {
  std::memcpy(to, from, len);
}
#endif

// The re-exec without the exec (~1 ms of CPU less per create, run and exec, bench/README.md
// "warmrun"): every mapping of hull's file is replaced by the same range of `image` (the same
// inode through the read-only mount, so the same page-cache pages), and /proc/self/exe is
// pointed at it (the kernel refuses that while any mapping of the old file is left). Clean
// ranges (text, rodata) are mapped over in place: the bytes under the running code stay the
// same. Ranges whose bytes are no longer the file's (data, and the relocated RELRO) are copied
// into a fresh private mapping of `image` that mremap then moves over the old one, an atomic
// swap. Only while this process has one thread and with every signal blocked, so that nothing
// writes hull's data between a copy and its swap. False when any step fails, with nothing
// lost (the mappings hold the same code and data either way): the caller re-executes then.
bool switch_to_image_in_place(int image_path_fd) {
  Fd image(::open(fmt::format("/proc/self/fd/{}", image_path_fd).c_str(), O_RDONLY | O_CLOEXEC));
  if (!image) return false;
  struct stat st;
  if (::fstat(image.get(), &st) < 0) return false;
  std::vector<unsigned long long> stat = self_stat();
  if (stat.size() <= 51 || stat[20] != 1) return false;  // num_threads
  std::vector<Mapping> maps = mappings_of(st);
  if (maps.empty()) return false;
  sigset_t all, old;
  ::sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, &old);
  bool ok = true;
  for (const Mapping& m : maps) {
    size_t len = m.end - m.start;
    void* at = reinterpret_cast<void*>(m.start);
    if (!m.copy) {
      ok = ::mmap(at, len, m.prot, MAP_PRIVATE | MAP_FIXED, image.get(), m.offset) != MAP_FAILED;
    } else if (void* fresh = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_POPULATE, image.get(), m.offset);
               fresh == MAP_FAILED) {
      ok = false;
    } else {
      copy_mapping(fresh, at, len);
      ok = (m.prot == (PROT_READ | PROT_WRITE) || ::mprotect(fresh, len, m.prot) == 0) &&
           ::mremap(fresh, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, at) != MAP_FAILED;
      if (!ok) ::munmap(fresh, len);
    }
    if (!ok) break;
  }
  ok = ok && set_exe_file(image.get(), stat);
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  return ok && self_image_is_read_only();
}

}  // namespace

bool self_image_is_read_only() {
  Fd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return false;
  int seals = ::fcntl(self.get(), F_GET_SEALS);
  if (seals >= 0 && (seals & F_SEAL_WRITE)) return true;
  struct statvfs sv;
  if (::fstatvfs(self.get(), &sv) == 0 && (sv.f_flag & ST_RDONLY)) return true;
  // Rootless: the containers of an unprivileged user hold no more than that user's rights (and
  // its subordinate ids') on host files, so a binary it neither owns nor can write through its
  // group or as other (root's 0755 install) is out of their reach without any copy.
  struct stat st;
  return ::geteuid() != 0 && ::fstat(self.get(), &st) == 0 && st.st_uid != ::geteuid() &&
         !(st.st_mode & (S_IWGRP | S_IWOTH));
}

void ensure_read_only_self_image(char** argv, bool reexecuted) {
  if (self_image_is_read_only()) return;
  if (reexecuted)
    fail(
        "hull's re-executed image is still writable; refusing to run containers from it "
        "(CVE-2019-5736)");
  Fd image = read_only_mount_of_self();
  // fault_at: the suite takes the re-exec below on purpose (tests/integration/test_faults.py).
  if (image && !fault_at("self-image.switch") && switch_to_image_in_place(image.get())) return;
  if (!image) image = sealed_copy_of_self();
  std::vector<char*> env;
  std::string marker = std::string(kReexecMarker) + "=1";
  for (char** e = environ; e && *e; ++e) env.push_back(*e);
  env.push_back(marker.data());
  env.push_back(nullptr);
  ::syscall(SYS_execveat, image.get(), "", argv, env.data(), AT_EMPTY_PATH);
  fail_errno("re-execute hull from its read-only image");
}

}  // namespace hull::linux
