/* hull's exec stub (see linux/exec_seal.h): hull execs this from a sealed memfd, and it execs
 * the container's process. While it runs, /proc/PID/exe of the container's first process is a
 * sealed copy of these few hundred bytes instead of the hull binary of the host, so nothing in
 * the container can reach that binary through it (CVE-2019-5736): not a "#!/proc/self/exe"
 * entrypoint, not a PT_INTERP pointing there, not a malicious libc loaded by hull.
 *
 * Freestanding (no libc): it must run in any rootfs and do nothing but what is below. */
#include <asm/statfs.h>
#include <asm/unistd.h>
#include <linux/fcntl.h>
#include <linux/magic.h>
#include <asm-generic/errno-base.h>

#include "abi.h"

static long sys4(long nr, long a, long b, long c, long d) {
#if defined(__x86_64__)
  long ret;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return ret;
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
#else
#error "hull exec stub: add this architecture's system call convention"
#endif
}

static long sys3(long nr, long a, long b, long c) { return sys4(nr, a, b, c, 0); }

static __attribute__((noreturn)) void exit_now(int code) {
  for (;;) sys3(__NR_exit_group, code, 0, 0);
}

static unsigned long length(const char* s) {
  unsigned long n = 0;
  while (s[n]) ++n;
  return n;
}

static int same(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

static int to_int(const char* s) {
  int neg = *s == '-', v = 0;
  if (neg) ++s;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return neg ? -v : v;
}

/* One packet in runtime/sync.h's layout: what failed, its kind and errno, for hull to print. */
static void report(int fd, int kind, long err, const char* what, const char* path) {
  char buf[4096];
  unsigned long n = 8;
  buf[0] = HULL_STUB_MSG_ERROR;
  buf[1] = (char)kind;
  buf[2] = buf[3] = 0;
  int e = (int)err;
  const char* ep = (const char*)&e;
  for (int i = 0; i < 4; ++i) buf[4 + i] = ep[i];
  for (const char* s = what; *s && n < sizeof buf; ++s) buf[n++] = *s;
  for (const char* s = path; *s && n < sizeof buf; ++s) buf[n++] = *s;
  if (fd >= 0) sys3(__NR_write, fd, (long)buf, (long)n);
}

static void write_lsm_label(int fd, const char* attr, const char* label) {
  long a = sys4(__NR_openat, AT_FDCWD, (long)attr, O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
  long rc = a;
  if (a >= 0) {
    /* CVE-2019-19921: a label written anywhere but procfs would leave the process unconfined. */
    struct statfs sf;
    rc = sys3(__NR_fstatfs, a, (long)&sf, 0);
    if (rc == 0 && sf.f_type != PROC_SUPER_MAGIC) rc = -EXDEV;
    if (rc == 0) rc = sys3(__NR_write, a, (long)label, (long)length(label));
    sys3(__NR_close, a, 0, 0);
  }
  if (rc < 0) {
    report(fd, 0, -rc, "set the LSM label for exec in ", attr);
    exit_now(HULL_STUB_EXIT_CODE);
  }
}

__attribute__((noreturn, used)) void stub_main(long* sp) {
  long argc = sp[0];
  char** argv = (char**)(sp + 1);
  char** envp = argv + argc + 1;
  if (argc <= HULL_STUB_FIXED_ARGS || !same(argv[0], HULL_STUB_NAME)) {
    static const char msg[] = HULL_STUB_NAME ": runs only the processes of containers hull starts\n";
    sys3(__NR_write, 2, (long)msg, sizeof msg - 1);
    exit_now(126);
  }
  int fd = to_int(argv[1]);
  if (argv[3][0]) write_lsm_label(fd, argv[3], argv[4]);
  /* The report fd came through our exec open; it must not reach the container (CVE-2024-21626). */
  if (fd >= 0) sys3(__NR_fcntl, fd, F_SETFD, FD_CLOEXEC);
  long rc = sys3(__NR_execve, (long)argv[2], (long)(argv + HULL_STUB_FIXED_ARGS), (long)envp);
  int kind = rc == -ENOENT || rc == -ENOTDIR ? HULL_STUB_KIND_NO_COMMAND
             : rc == -EACCES || rc == -ENOEXEC || rc == -EISDIR || rc == -EPERM
                 ? HULL_STUB_KIND_NOT_EXECUTABLE
                 : 0;
  report(fd, kind, -rc, "exec ", argv[2]);
  exit_now(HULL_STUB_EXIT_CODE);
}

#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n\txor %ebp, %ebp\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall stub_main\n\thlt\n");
#elif defined(__aarch64__)
__asm__(".text\n.global _start\n_start:\n\tmov x29, #0\n\tmov x30, #0\n\tmov x0, sp\n\tbl stub_main\n");
#endif
