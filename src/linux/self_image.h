// CVE-2019-5736 with CAP_SYS_PTRACE: hull runs from an image of itself that cannot be written.
//
// Every process a container can see while it still runs hull's code — the container init until
// its final exec, an `exec`'s process until its exec, hooks' children until theirs, `--init`'s
// PID 1 for the container's whole life — is a fork of the hull command that made it, so its
// /proc/PID/exe is whatever file that command was executed from. Being non-dumpable hides it
// only from processes without CAP_SYS_PTRACE in the host's user namespace; a container given
// SYS_PTRACE opens /proc/PID/exe, keeps the fd, and once no hull process runs any more
// reopens /proc/self/fd/N for writing: the host's hull binary, run as root at the next call.
//
// So the commands that make container-visible processes (create, run, exec and the friendly
// face's run, start, exec, tour) first make sure hull's own image is one that nothing can
// write, and move hull onto such an image when it is not:
//
//  - Already safe, no cost: /proc/self/exe is on a read-only mount (hull installed on a
//    read-only /usr, or bind-mounted read-only over itself once per boot by the admin), or is
//    a memfd sealed against writing.
//  - Otherwise, as root: a detached, read-only bind mount of the binary itself
//    (open_tree(OPEN_TREE_CLONE) of /proc/self/exe, mount_setattr(MOUNT_ATTR_RDONLY)), and
//    hull switches to it in place: every mapping of its file is replaced by the same range of
//    the read-only mount's file (the same inode and page cache: text and rodata are mapped over
//    in place, data and the relocated RELRO copied and swapped in with mremap), then
//    /proc/self/exe is pointed at it (prctl PR_SET_MM_EXE_FILE, or CRIU's PR_SET_MM_MAP with
//    the map's own fields where CAP_SYS_RESOURCE is missing; the kernel refuses either while
//    any mapping of the old file is left). The result is what the exec through the mount gave:
//    the exe and every mapping on a mount that lives on only through this process (and what it
//    forks), in no namespace, that nothing can remount, clone or mount_setattr any more. Every
//    open for writing of /proc/PID/exe, of /proc/self/fd/N after it, or of
//    /proc/PID/map_files/ fails with EROFS. It saves the second exec: ~1 ms of CPU and ~70
//    page faults per create, run and exec (bench/README.md "warmrun"). When a step fails (more
//    than one thread, no CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE/CAP_SYS_RESOURCE), hull
//    execveat()s through the mount instead, as before.
//  - Rootless, with a binary the user neither owns nor can write (root's 0755 install): no
//    cost either, the user's containers cannot write it.
//  - Otherwise (rootless with a binary of the user's own: no mount rights in the host's mount
//    namespace): a sealed memfd copy, runc's way, paying for the copy only there.
//
// runc (libcontainer/dmz, nsenter's cloned_binary) and crun re-execute themselves from a sealed
// memfd copy (or a read-only overlayfs mount) on every call; hull neither copies nor
// re-executes (bench/README.md), and does nothing at all where it is installed read-only.
//
// Why not skip the read-only image for containers that cannot hold CAP_SYS_PTRACE (issue 17
// asked)? Because create cannot know who will be able to see its processes while they run
// hull's code: (1) the init waits in hull's image from create until start, for as long as the
// caller likes, and an `exec --cap CAP_SYS_PTRACE` (or a --process with it) may enter in
// between, whatever the config said (test_cve.py's ptrace_create_start is exactly that
// attack); (2) a later container may join this one's PID namespace (namespaces path) with
// CAP_SYS_PTRACE and no user namespace, and see every `exec` into this one afterwards; (3)
// concurrent execs: one without SYS_PTRACE runs hull's code while another with it has already
// started its program, and neither can decide for the other. Recording earlier execs' caps in
// the state covers none of these, since the danger comes from later ones. A new user namespace
// alone is not enough either, because of (2). So the read-only image stays unconditional; what
// went is the exec that got there.

#pragma once

namespace hull::linux {

// True when nothing in this caller's containers can open /proc/self/exe for writing: on a
// read-only mount, a memfd with F_SEAL_WRITE, or (not root) a file the caller cannot write.
bool self_image_is_read_only();

// Returns when hull already runs from a read-only image, or once it has switched to one in
// place; otherwise re-executes `argv` (with the current environment) from one and does not
// return. `reexecuted` says this process is the result of such a re-exec: still writable
// then, it refuses instead of looping.
void ensure_read_only_self_image(char** argv, bool reexecuted);

// The environment variable by which a re-executed hull knows it was (removed at once).
inline constexpr const char* kReexecMarker = "_HULL_READ_ONLY_IMAGE";

}  // namespace hull::linux
