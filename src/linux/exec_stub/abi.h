/* The contract between hull and its exec stub (linux/exec_seal.h): a tiny static program that
 * hull runs from a sealed memfd and that execs the container's process. Shared by the C stub
 * and the C++ side, so it is plain C. */
#ifndef HULL_EXEC_STUB_ABI_H
#define HULL_EXEC_STUB_ABI_H

/* argv of the stub: [0] kHullStubName, [1] report fd in decimal ("-1": none), [2] the path to
 * exec, [3] an LSM attribute file to write before exec ("" for none), [4] what to write there,
 * [5...] the container process's own argv. envp is the container process's environment. */
#define HULL_STUB_NAME "hull-exec"
#define HULL_STUB_FIXED_ARGS 5

/* On failure the stub sends one packet on the report fd, in the layout of runtime/sync.h:
 * type (u8), error kind (u8), 2 bytes of padding, errno (i32, host order), then the text; and
 * exits with this. The kinds are util/error.h's ErrorKind: a failed execve says whether the
 * program is missing (docker's 127) or cannot be executed (126); 0 lets errno decide. */
#define HULL_STUB_MSG_ERROR 6
#define HULL_STUB_KIND_NO_COMMAND 7
#define HULL_STUB_KIND_NOT_EXECUTABLE 8
#define HULL_STUB_EXIT_CODE 127

#endif
