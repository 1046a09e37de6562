// Namespace kinds: clone flags, /proc/PID/ns names, opening and joining by path.
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <string>

#include "util/fd.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace hull::linux {

// "net", "mnt", ... as in /proc/PID/ns/; nullptr for an unknown flag.
const char* ns_proc_name(int clone_flag);
// What the namespace isolates, in a few words (for `hull inspect`).
const char* ns_description(int clone_flag);

// Opens a namespace file and checks that it is a namespace of the expected kind
// (NS_GET_NSTYPE), so "path" pointing at the wrong file fails clearly.
Fd open_namespace(const std::string& path, int clone_flag);
void join_namespace(int fd, int clone_flag, const std::string& path);

// Whether a namespace file names the caller's own namespace of that kind (setns into its own
// user namespace says EINVAL: joining it is a no-op to skip).
bool is_own_namespace(int fd, int clone_flag);
// Whether a user namespace file names the initial user namespace (the host's), the only one
// in which mknod of a device node is allowed (CAP_MKNOD there).
bool is_initial_user_namespace(int fd);

// Joins the namespaces `flags` (CLONE_NEW*) of a running process: one setns on its pidfd
// (Linux 5.8+), else one setns per /proc/PID/ns file, the user namespace first.
void join_namespaces_of(int pidfd, pid_t pid, int flags);

// Sets time namespace offsets for the namespace the caller's children will be in, then
// moves the caller into it (offsets can only be written before a process enters it).
void enter_new_time_namespace(long long monotonic_secs, long monotonic_nsecs,
                              long long boottime_secs, long boottime_nsecs);

}  // namespace hull::linux
