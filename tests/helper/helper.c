/* hull-test-helper: a static binary copied into test rootfs images and run inside
 * containers to report what the kernel shows there (DESIGN.md, Test helper).
 * Usage: hull-test-helper COMMAND [ARGS...]; prints results on stdout, exits 0 on success. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const char* cmd = argv[1];
  if (!strcmp(cmd, "fds")) return cmd_fds();
  if (!strcmp(cmd, "exit")) return argc > 2 ? atoi(argv[2]) : 0;
  if (!strcmp(cmd, "segv")) {
    /* A fault is delivered by force, even to PID 1 of a namespace. */
    volatile int* p = (volatile int*)(uintptr_t)argc - argc;
    return *p;
  }
  return usage();
}
