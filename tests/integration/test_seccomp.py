"""linux.seccomp: the whole runtime-spec schema through libseccomp, the cache of compiled
filters, and SCMP_ACT_NOTIFY with listenerPath."""
import array
import ctypes
import errno
import fcntl
import json
import os
import re
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

SIGSYS = 31


def profile(*rules, default="SCMP_ACT_ALLOW", **extra):
    p = {"defaultAction": default, "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
         "syscalls": list(rules)}
    p.update(extra)
    return p


def rule(names, action="SCMP_ACT_ERRNO", errno_ret=None, args=None):
    r = {"names": names, "action": action}
    if errno_ret is not None:
        r["errnoRet"] = errno_ret
    if args:
        r["args"] = args
    return r


def with_profile(bundle, args, prof, **process):
    b = bundle(args)
    b.linux["seccomp"] = prof
    b.process.update(process)
    b.save()
    return b


def test_a_profile_denying_mkdir_makes_mkdir_fail_while_ls_works(hull, bundle):
    b = with_profile(bundle, ["sh", "-c", "mkdir /tmp/x; echo mkdir=$?; ls -d /tmp"],
                     profile(rule(["mkdir", "mkdirat"], errno_ret=errno.EPERM)))
    p = hull.run(b)
    assert "mkdir: can't create directory '/tmp/x': Operation not permitted" in p.stderr
    assert p.stdout.split() == ["mkdir=1", "/tmp"]


# Each operator on chmod's mode argument (index 1 of chmod, 2 of fchmodat): which of the two
# modes 700 and 755 the rule denies.
OPERATORS = [
    ("SCMP_CMP_EQ", 0o700, 0, "700"),
    ("SCMP_CMP_NE", 0o700, 0, "755"),
    ("SCMP_CMP_LT", 0o701, 0, "700"),
    ("SCMP_CMP_LE", 0o700, 0, "700"),
    ("SCMP_CMP_GT", 0o700, 0, "755"),
    ("SCMP_CMP_GE", 0o755, 0, "755"),
    # docker's kind of rule: (mode & 077) == 0
    ("SCMP_CMP_MASKED_EQ", 0o077, 0, "700"),
]


@pytest.mark.parametrize("op,value,value_two,denied", OPERATORS)
def test_argument_rules_with_every_operator(hull, bundle, op, value, value_two, denied):
    def arg(index):
        a = {"index": index, "value": value, "op": op}
        if value_two:
            a["valueTwo"] = value_two
        return [a]
    prof = profile(rule(["chmod"], args=arg(1)), rule(["fchmodat"], args=arg(2)))
    script = "touch /dev/shm/f; for m in 700 755; do chmod $m /dev/shm/f 2>/dev/null && echo $m; done"
    b = with_profile(bundle, ["sh", "-c", script], prof)
    made = hull.run(b).stdout.split()
    assert made == [m for m in ("700", "755") if m != denied]


def test_masked_eq_with_a_non_zero_datum(hull, bundle):
    # (mode & 0700) == 0500: r-x for the owner only is refused.
    args = lambda i: [{"index": i, "value": 0o700, "valueTwo": 0o500, "op": "SCMP_CMP_MASKED_EQ"}]
    prof = profile(rule(["chmod"], args=args(1)), rule(["fchmodat"], args=args(2)))
    script = "touch /dev/shm/f; for m in 500 555 700 755; do chmod $m /dev/shm/f 2>/dev/null && echo $m; done"
    b = with_profile(bundle, ["sh", "-c", script], prof)
    assert hull.run(b).stdout.split() == ["700", "755"]


def test_two_conditions_on_one_argument_mean_either(hull, bundle):
    # runc's and crun's reading: a rule repeating an index denies when any condition holds.
    args = lambda i: [{"index": i, "value": 0o700, "op": "SCMP_CMP_EQ"},
                      {"index": i, "value": 0o755, "op": "SCMP_CMP_EQ"}]
    prof = profile(rule(["chmod"], args=args(1)), rule(["fchmodat"], args=args(2)))
    script = "touch /dev/shm/f; for m in 700 711 755; do chmod $m /dev/shm/f 2>/dev/null && echo $m; done"
    b = with_profile(bundle, ["sh", "-c", script], prof)
    assert hull.run(b).stdout.split() == ["711"]


@pytest.mark.parametrize("action,errno_ret,expect", [
    ("SCMP_ACT_ERRNO", errno.EACCES, "errno:Permission denied"),
    ("SCMP_ACT_TRACE", None, "errno:Function not implemented"),  # no tracer attached: ENOSYS
    ("SCMP_ACT_LOG", None, "made"),
    ("SCMP_ACT_KILL", None, f"signal:{SIGSYS}"),
    ("SCMP_ACT_KILL_THREAD", None, f"signal:{SIGSYS}"),
    ("SCMP_ACT_KILL_PROCESS", None, f"signal:{SIGSYS}"),
    ("SCMP_ACT_TRAP", None, f"signal:{SIGSYS}"),
])
def test_every_action(hull, bundle, action, errno_ret, expect):
    b = with_profile(bundle, ["mkdir", "/dev/shm/x"], profile(rule(["mkdir", "mkdirat"], action, errno_ret)))
    p = hull.run(b)
    if expect.startswith("signal:"):
        assert p.returncode == 128 + int(expect[7:]), (p.returncode, p.stderr)
    elif expect.startswith("errno:"):
        assert p.returncode == 1 and expect[6:] in p.stderr, p.stderr
    else:
        assert p.returncode == 0, p.stderr


def test_default_action_and_errno(hull, bundle):
    # An allow-list that forgets mkdir: the default errno comes back.
    allowed = ["execve", "execveat", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq", "prlimit64",
               "mmap", "munmap", "mprotect", "getrandom", "uname", "readlink", "getuid", "geteuid", "getgid",
               "getegid", "getpid", "getppid", "write", "writev", "exit", "exit_group", "fcntl", "close",
               "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "fstat", "newfstatat", "ioctl", "umask", "chmod"]
    prof = profile(rule(allowed, "SCMP_ACT_ALLOW"), default="SCMP_ACT_ERRNO", defaultErrnoRet=errno.EROFS)
    b = with_profile(bundle, ["mkdir", "/dev/shm/x"], prof)
    p = hull.run(b)
    assert "Read-only file system" in p.stderr, p.stderr


@pytest.mark.parametrize("flag", ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                  "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"])
def test_every_flag_loads(hull, bundle, flag):
    b = with_profile(bundle, ["sh", "-c", "grep Seccomp: /proc/self/status; mkdir /dev/shm/x"],
                     profile(rule(["mkdir", "mkdirat"]), flags=[flag]))
    p = hull.run(b)
    assert p.stdout.split() == ["Seccomp:", "2"] and "Operation not permitted" in p.stderr, p.stderr


def test_unknown_syscall_names_are_skipped(hull, bundle):
    b = with_profile(bundle, ["mkdir", "/dev/shm/x"], profile(rule(["no_such_syscall_of_hull", "mkdir", "mkdirat"])))
    p = hull.run(b)
    assert "Operation not permitted" in p.stderr, p.stderr


def test_an_unknown_action_or_operator_is_refused_naming_the_field(hull, bundle):
    b = with_profile(bundle, ["true"], profile(rule(["mkdir"], "SCMP_ACT_EXPLODE")))
    p = hull.run(b)
    assert p.returncode == 1
    assert 'linux.seccomp.syscalls[0].action: unknown seccomp action "SCMP_ACT_EXPLODE"' in p.stderr
    b = with_profile(bundle, ["true"], profile(rule(["mkdir"], args=[{"index": 1, "value": 1, "op": "SCMP_CMP_IS"}])))
    p = hull.run(b)
    assert p.returncode == 1 and 'linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_IS"' in p.stderr


def libseccomp_knows(nr):
    lib = ctypes.CDLL("libseccomp.so.2")
    lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p
    return lib.seccomp_syscall_resolve_num_arch(0, nr) is not None


def test_syscalls_newer_than_libseccomp_answer_enosys_so_libc_falls_back(hull, bundle):
    # lsm_set_self_attr (460): in the kernel, not in Docker's allow-list without CAP_SYS_ADMIN.
    if libseccomp_knows(460):
        pytest.skip("this libseccomp knows syscall 460; the default errno applies to it")
    b = bundle(["helper", "syscall", "460"])
    assert hull.run(b).stdout.strip() == "syscall 460: ENOSYS"
    # The kernel itself has it: without a filter the call reaches it.
    b.linux.pop("seccomp")
    b.save()
    assert hull.run(b).stdout.strip() != "syscall 460: ENOSYS"


# Root's cache: the default state root's, whatever --root the test passes (so that root
# empties with its last container). Shared with every hull on the host: each test gives its
# profile a rule of its own (a unique errno), so its entry is its own.
CACHE = Path("/run/hull/.seccomp")


def unique_rule():
    return rule(["getpriority"], errno_ret=1000 + int.from_bytes(os.urandom(2), "little") % 3000)  # errnos end at 4095


def test_a_repeated_profile_is_read_from_the_cache(hull, bundle):
    b = bundle(["true"])
    b.linux["seccomp"]["syscalls"].append(unique_rule())
    b.save()
    times = []
    for _ in range(2):
        p = hull.oci("--debug", "run", "--bundle", b.path, hull.new_id())
        m = re.search(r"seccomp: filter of (\d+) instructions (compiled|read from the cache) in (\d+) us", p.stderr)
        assert m, p.stderr
        times.append((m.group(2), int(m.group(1)), int(m.group(3))))
    assert [t[0] for t in times] == ["compiled", "read from the cache"]
    assert times[0][1] == times[1][1]
    assert CACHE.stat().st_mode & 0o777 == 0o700
    assert all(e.stat().st_mode & 0o777 == 0o600 for e in CACHE.iterdir())
    # --root holds containers only: with the last one gone it is empty.
    assert list(hull.root.iterdir()) == []


def test_a_tampered_cache_entry_is_not_used(hull, bundle):
    b = bundle(["mkdir", "/dev/shm/x"])
    mine = unique_rule()
    b.linux["seccomp"] = profile(rule(["mkdir", "mkdirat"]), mine)
    b.save()
    before = set(CACHE.iterdir()) if CACHE.exists() else set()
    assert hull.run(b).returncode == 1
    # Other tests (other xdist workers) add entries to the shared cache meanwhile: ours is the
    # one whose key holds our profile's unique errno.
    new = [e for e in set(CACHE.iterdir()) - before
           if str(mine["errnoRet"]).encode() in e.read_bytes().split(b"\0", 1)[0]]
    assert len(new) == 1, new
    [entry] = new
    data = entry.read_bytes()
    # Same size, another profile's text in the key: the entry must be recompiled, not trusted.
    entry.write_bytes(data.replace(b"SCMP_ACT_ERRNO", b"SCMP_ACT_ALLOW"))
    p = hull.oci("--debug", "run", "--bundle", b.path, hull.new_id(), check=False)
    assert "compiled" in p.stderr and "Operation not permitted" in p.stderr, p.stderr


def test_the_cache_is_pruned_to_its_most_recently_used_entries(hull, bundle):
    """Issue 16, defect 9: every distinct profile used to add a file for ever."""
    CACHE.mkdir(parents=True, exist_ok=True)
    # Stale entries of another age: older than a week goes whatever the count.
    stale = CACHE / "0000000000000000-1.bpf"
    # 0600 as hull's own: another worker's test_a_repeated_profile_is_read_from_the_cache
    # checks every entry's mode meanwhile.
    fd = os.open(stale, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, b"x")
    os.close(fd)
    os.utime(stale, (time.time() - 8 * 86400,) * 2)
    for _ in range(3):
        b = bundle(["true"])
        b.linux["seccomp"]["syscalls"].append(unique_rule())
        b.save()
        assert hull.run(b).returncode == 0
    assert not stale.exists()
    assert len(list(CACHE.iterdir())) <= 64


# SCMP_ACT_NOTIFY: struct seccomp_notif (80 bytes) and seccomp_notif_resp (24 bytes).
NOTIF_RECV = 0xC0502100
NOTIF_SEND = 0xC0182101


def serve_one_listener(path, result):
    """A seccomp agent: takes the listener fd and the container process state, then answers
    the first notified syscall with EXDEV."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(30)

    def run():
        try:
            conn, _ = srv.accept()
            fds = array.array("i")
            msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4))
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(data[:4])
            result["state"] = json.loads(msg)
            listener = fds[0]
            req = bytearray(80)
            fcntl.ioctl(listener, NOTIF_RECV, req)
            notif_id, pid, _flags, nr = struct.unpack_from("=QIIi", req)
            result["nr"] = nr
            fcntl.ioctl(listener, NOTIF_SEND, bytearray(struct.pack("=QqiI", notif_id, 0, -errno.EXDEV, 0)))
            os.close(listener)
            conn.close()
        except Exception as e:  # reported by the test
            result["error"] = repr(e)
        finally:
            srv.close()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_notify_hands_the_listener_fd_and_state_to_listener_path(hull, bundle, tmp_path):
    path = str(tmp_path / "agent.sock")
    result = {}
    agent = serve_one_listener(path, result)
    prof = profile(rule(["mkdir", "mkdirat"], "SCMP_ACT_NOTIFY"), listenerPath=path, listenerMetadata="hull-test")
    b = with_profile(bundle, ["mkdir", "/dev/shm/x"], prof)
    cid = hull.new_id()
    p = hull.run(b, cid)
    agent.join(30)
    assert "error" not in result, result
    # The agent answered EXDEV: the container saw exactly that.
    assert "Invalid cross-device link" in p.stderr, p.stderr
    assert result["nr"] in (83, 258)  # mkdir, mkdirat on x86-64
    st = result["state"]
    assert st["fds"] == ["seccompFd"] and st["metadata"] == "hull-test"
    assert st["state"]["id"] == cid and st["state"]["pid"] == st["pid"] > 0
    assert st["ociVersion"].startswith("1.")


def test_notify_on_write_is_answered_by_the_agent(hull, bundle, tmp_path):
    # runc refuses SCMP_ACT_NOTIFY on write; hull sends the listener before anything of its
    # own could be notified, so the container's first write reaches the agent and nothing hangs.
    path = str(tmp_path / "agent.sock")
    result = {}
    agent = serve_one_listener(path, result)
    b = with_profile(bundle, ["sh", "-c", "echo through-the-agent"],
                     profile(rule(["write"], "SCMP_ACT_NOTIFY"), listenerPath=path))
    p = hull.run(b, timeout=60)
    agent.join(30)
    assert "error" not in result, result
    assert result["nr"] == 1  # write on x86-64, answered EXDEV: the echo failed
    assert "through-the-agent" not in p.stdout and p.returncode != 0, (p.stdout, p.stderr)


def test_notify_on_sendmsg_is_refused_clearly(hull, bundle, tmp_path):
    prof = profile(rule(["sendmsg"], "SCMP_ACT_NOTIFY"), listenerPath=str(tmp_path / "none.sock"))
    b = with_profile(bundle, ["true"], prof)
    p = hull.run(b)
    assert p.returncode == 1
    assert "SCMP_ACT_NOTIFY on sendmsg is not supported" in p.stderr


def test_notify_with_no_agent_listening_fails_naming_listener_path(hull, bundle, tmp_path):
    prof = profile(rule(["mkdir"], "SCMP_ACT_NOTIFY"), listenerPath=str(tmp_path / "nobody.sock"))
    b = with_profile(bundle, ["true"], prof)
    p = hull.run(b)
    assert p.returncode == 1
    assert f"linux.seccomp.listenerPath: connect {tmp_path}/nobody.sock: no such file or directory" in p.stderr


def test_without_no_new_privileges_the_filter_still_loads(hull, bundle):
    # The kernel wants CAP_SYS_ADMIN (which the container lacks) to load a filter without
    # no_new_privs: hull loads it before dropping capabilities, as docker configs need.
    b = with_profile(bundle, ["sh", "-c", "grep -E 'Seccomp:|NoNewPrivs' /proc/self/status; mkdir /dev/shm/x"],
                     profile(rule(["mkdir", "mkdirat"])), noNewPrivileges=False)
    p = hull.run(b)
    assert p.stdout.split() == ["NoNewPrivs:", "0", "Seccomp:", "2"], p.stderr
    assert "Operation not permitted" in p.stderr
