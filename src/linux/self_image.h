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
// write, and re-execute hull from such an image when it is not:
//
//  - Already safe, no cost: /proc/self/exe is on a read-only mount (hull installed on a
//    read-only /usr, or bind-mounted read-only over itself once per boot by the admin), or is
//    a memfd sealed against writing.
//  - Otherwise, as root: a detached, read-only bind mount of the binary itself
//    (open_tree(OPEN_TREE_CLONE) of /proc/self/exe, mount_setattr(MOUNT_ATTR_RDONLY)), and
//    execveat through it. No copy: a few syscalls and one exec. The mount fd is close-on-exec,
//    so the exec dissolves the detached tree: the mount lives on only through the processes'
//    exe and mappings, it is in no namespace, and nothing can remount, clone or mount_setattr
//    it any more (the kernel refuses mounts that are not mounted). Every open for writing of
//    /proc/PID/exe, of /proc/self/fd/N after it, or of /proc/PID/map_files/ fails with EROFS.
//  - Rootless, with a binary the user neither owns nor can write (root's 0755 install): no
//    cost either, the user's containers cannot write it.
//  - Otherwise (rootless with a binary of the user's own: no mount rights in the host's mount
//    namespace): a sealed memfd copy, runc's way, paying for the copy only there.
//
// runc (libcontainer/dmz, nsenter's cloned_binary) and crun re-execute themselves from a sealed
// memfd copy (or a read-only overlayfs mount) on every call; hull's cost is the same re-exec
// without the copy, and nothing at all where hull is installed read-only (bench/README.md).
#pragma once

namespace hull::linux {

// True when nothing in this caller's containers can open /proc/self/exe for writing: on a
// read-only mount, a memfd with F_SEAL_WRITE, or (not root) a file the caller cannot write.
bool self_image_is_read_only();

// Returns when hull already runs from a read-only image; otherwise re-executes `argv` (with
// the current environment) from one and does not return. `reexecuted` says this process is
// the result of such a re-exec: still writable then, it refuses instead of looping.
void ensure_read_only_self_image(char** argv, bool reexecuted);

// The environment variable by which a re-executed hull knows it was (removed at once).
inline constexpr const char* kReexecMarker = "_HULL_READ_ONLY_IMAGE";

}  // namespace hull::linux
