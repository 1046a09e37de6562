"""The escape suite: a container made from `hull-oci spec`'s default config.json cannot undo its
isolation. Each attempt is a raw system call made by the test helper inside the container,
which prints "NAME: ok" only when the kernel let it through. A control run with a privileged
config shows that the same probes do get through when nothing stops them."""
import os
import shutil

ATTEMPTS = ["mount", "umount", "pivot_root", "unshare-user", "unshare-mount", "kexec_load",
            "init_module", "keyctl", "sethostname", "mknod-block", "proc-sys-write", "kcore-read"]


def attempt(hull, b):
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    return dict(line.split(": ", 1) for line in p.stdout.splitlines())


def test_every_escape_attempt_fails_under_the_default_spec(hull, bundle):
    b = bundle(["helper", "try", *ATTEMPTS])
    results = attempt(hull, b)
    assert set(results) == set(ATTEMPTS)
    assert [a for a, r in results.items() if r == "ok"] == [], results
    # The filter, not luck, refuses these: seccomp answers EPERM before any capability check.
    for name in ("mount", "umount", "pivot_root", "unshare-user", "kexec_load", "init_module", "keyctl"):
        assert results[name] == "EPERM", (name, results[name])


def test_the_probes_get_through_a_privileged_config(hull, bundle):
    # The control: all capabilities, no filter, no masks. Only namespaced things are tried,
    # inside the container's own namespaces.
    b = bundle(["helper", "try", "mount", "unshare-mount", "sethostname", "keyctl"])
    b.process["capabilities"] = None
    b.linux.pop("seccomp")
    b.save()
    results = attempt(hull, b)
    assert results == {"mount": "ok", "unshare-mount": "ok", "sethostname": "ok", "keyctl": "ok"}


def test_seccomp_is_in_filter_mode(hull, bundle):
    b = bundle(["grep", "Seccomp:", "/proc/self/status"])
    p = hull.run(b)
    assert p.stdout.split() == ["Seccomp:", "2"], p.stderr


def test_no_host_pid_is_visible(hull, bundle):
    b = bundle(["helper", "pids"])
    p = hull.run(b)
    assert p.stdout.split() == ["1"], p.stdout


def test_ptrace_of_a_process_outside_fails(hull, bundle):
    # This test's own process, on the host: invisible in the container's PID namespace, and
    # out of reach of its capabilities even where it is visible.
    b = bundle(["helper", "ptrace", str(os.getpid())])
    p = hull.run(b)
    assert p.stdout.strip() in (f"ptrace {os.getpid()}: ESRCH", f"ptrace {os.getpid()}: EPERM"), p.stdout


def test_setuid_binary_raises_nothing_under_no_new_privs(hull, bundle):
    def run_suid(nnp):
        b = bundle(["/bin/suid", "ids"])
        shutil.copy2(b.rootfs / "bin" / "helper", b.rootfs / "bin" / "suid")
        os.chown(b.rootfs / "bin" / "suid", 0, 0)
        os.chmod(b.rootfs / "bin" / "suid", 0o4755)
        b.process["user"] = {"uid": 1000, "gid": 1000}
        b.process["noNewPrivileges"] = nnp
        b.save()
        p = hull.run(b)
        assert p.returncode == 0, p.stderr
        return p.stdout.split()
    assert "euid=1000" in run_suid(True)
    # Without no_new_privs the same binary does become root: the probe can tell.
    assert "euid=0" in run_suid(False)
