/* hull-test-helper: a static binary copied into test rootfs images and run inside
 * containers to report what the kernel shows there (DESIGN.md, Test helper).
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

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const char* cmd = argv[1];
  if (!strcmp(cmd, "fds")) return cmd_fds();
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
