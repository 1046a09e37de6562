"""Robustness toward callers (engines): signals reach the container, stray fds do not, no
PATH or HOME is needed, `state` answers in every state, delete --force is harmless."""
import signal
import subprocess
import threading
import time

from hulltest import HULL_OCI


def test_foreground_run_forwards_signals(hull, bundle):
    b = bundle(["sh", "-c", "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done"])
    cmd = [str(HULL_OCI), "--root", str(hull.root), "run", "--bundle", str(b.path), hull.new_id()]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert (p.returncode, out) == (3, "got TERM\n"), err


def test_foreground_run_killed_by_signal_n_exits_128_plus_n(hull, bundle):
    # PID 1 of a namespace ignores signals it has no handler for, except SIGKILL.
    b = bundle(["sh", "-c", "echo ready; sleep 100"])
    cid = hull.new_id()
    cmd = [str(HULL_OCI), "--root", str(hull.root), "run", "--bundle", str(b.path), cid]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    hull.oci("kill", cid, "KILL")
    p.communicate(timeout=30)
    assert p.returncode == 128 + 9


def fds_seen(out):
    return [int(l.split()[0]) for l in out.strip().split("\n")]


def with_stray_fds(h, tmp_path, *args, **kw):
    """hull-oci with fd 3 on /dev/null and fd 8 on a host directory, as a careless caller."""
    cmd = ["/bin/sh", "-c", f'exec "$@" 3</dev/null 8<"{tmp_path}"', "sh", str(HULL_OCI), "--root", str(h.root)]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=60, **kw)


def test_only_stdio_and_preserved_fds_reach_the_container(hull, bundle, tmp_path):
    b = bundle(["helper", "fds"])
    p = with_stray_fds(hull, tmp_path, "run", "--bundle", b.path, hull.new_id())
    assert fds_seen(p.stdout) == [0, 1, 2], p.stderr
    p = with_stray_fds(hull, tmp_path, "run", "--preserve-fds", "1", "--bundle", b.path, hull.new_id())
    assert fds_seen(p.stdout) == [0, 1, 2, 3], p.stderr
    assert str(tmp_path) not in p.stdout


def test_every_command_works_without_path_or_home(hull, bundle, tmp_path):
    b = bundle(["sleep", "100"])
    empty = {}
    cid = hull.new_id()
    hull.oci("create", "--bundle", b.path, cid, env=empty)
    hull.pids.add(hull.state(cid)["pid"])
    hull.oci("start", cid, env=empty)
    assert '"running"' in hull.oci("state", cid, env=empty).stdout
    assert hull.oci("exec", cid, "sh", "-c", "echo $PATH", env=empty).stdout.strip() != ""
    assert cid in hull.oci("list", "-q", env=empty).stdout
    hull.oci("kill", cid, "KILL", env=empty)
    hull.wait_status(cid, "stopped")
    hull.oci("delete", cid, env=empty)
    b = bundle(["sh", "-c", "exit 6"])
    assert hull.run(b, None, env=empty).returncode == 6


def test_state_answers_in_every_state(hull, bundle, tmp_path):
    hook = tmp_path / "slow-hook"
    hook.write_text("#!/bin/sh\nsleep 1\n")
    hook.chmod(0o755)
    b = bundle(["sleep", "100"])
    b.config.setdefault("hooks", {})["createRuntime"] = [{"path": str(hook)}]
    b.save()
    cid = hull.new_id()
    seen = []
    creating = threading.Thread(target=lambda: seen.append(hull.oci("create", "--bundle", b.path, cid, files=True)))
    creating.start()
    statuses = set()
    deadline = time.time() + 30
    while creating.is_alive() and time.time() < deadline:
        st = hull.state(cid, check=False)
        if st:
            statuses.add(st["status"])
        time.sleep(0.02)
    creating.join()
    assert seen[0].returncode == 0, seen[0].stderr
    assert "creating" in statuses
    assert hull.state(cid)["status"] == "created"
    hull.oci("start", cid)
    assert hull.state(cid)["status"] == "running"
    hull.oci("kill", cid, "KILL")
    st = hull.wait_status(cid, "stopped")
    assert st["pid"] == 0
    hull.oci("delete", cid)


def test_delete_force_of_a_container_whose_processes_are_gone(hull, bundle):
    b = bundle(["sh", "-c", "exit 0"])
    cid = hull.create(b)
    hull.oci("start", cid)
    hull.wait_status(cid, "stopped")
    hull.oci("delete", "--force", cid)
    # Gone is what --force asked for (runc, crun): exit 0, nothing said.
    p = hull.oci("delete", "--force", cid)
    assert (p.returncode, p.stderr) == (0, "")
    p = hull.oci("delete", cid, check=False)
    assert p.returncode == 1 and p.stderr.strip() == f"hull: container {cid} does not exist"
    # Deleting one that is gone leaves others alone.
    other = hull.create(bundle(["sleep", "100"]))
    hull.oci("delete", "--force", cid, check=False)
    assert hull.state(other)["status"] == "created"
    hull.oci("delete", "--force", other)
