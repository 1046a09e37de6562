"""containerd (its runc shim) with hull as the runtime: ctr run --runc-binary, task exec (with a
terminal), task ps, pause/resume, kill --all, metrics; and hull found on PATH as `runc`."""
import json
import os
import time
from pathlib import Path

import pytest

from engines import HULL_OCI, IMAGE, processes_rooted_under, sh


def runc_opts(ctr):
    return ["--runc-binary", HULL_OCI, "--runc-root", ctr.runc_root]


def task_status(ctr, cid):
    for line in ctr("tasks", "list").stdout.split("\n")[1:]:
        f = line.split()
        if f and f[0] == cid:
            return f[2]
    return None


def wait_task(ctr, cid, want, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if task_status(ctr, cid) == want:
            return
        time.sleep(0.05)
    raise AssertionError(f"task {cid} never became {want}: {task_status(ctr, cid)}")


def test_ctr_run_rm_and_exit_code(ctr):
    p = ctr("run", "--rm", *runc_opts(ctr), IMAGE, "run1", "sh", "-c", "echo from hull; exit 4", check=False)
    assert (p.returncode, p.stdout) == (4, "from hull\n"), p.stderr


def test_task_exec_ps_pause_resume_kill_all_metrics(ctr):
    cid = "svc"
    ctr("run", "--detach", *runc_opts(ctr), IMAGE, cid, "sh", "-c", "sleep 1000 & sleep 1000 & wait")
    wait_task(ctr, cid, "RUNNING")
    # hull keeps the state where the shim told it to.
    state = json.loads(sh([HULL_OCI, "--root", ctr.runc_root / "hulltest", "state", cid]).stdout)
    assert state["status"] == "running"
    # exec: the exit code comes back; with a terminal under `script`
    p = ctr("tasks", "exec", "--exec-id", "e1", cid, "sh", "-c", "echo in exec; exit 6", check=False)
    assert (p.returncode, p.stdout) == (6, "in exec\n"), p.stderr
    p = ctr("tasks", "exec", "--tty", "--exec-id", "e2", cid, "sh", "-c", "tty; test -t 0 && echo tty-ok", tty=True)
    assert "tty-ok" in p.stdout and "/dev/pts/" in p.stdout
    # ps: hull's `ps --format json` lists the container's processes (host pids)
    pids = [int(l.split()[0]) for l in ctr("tasks", "ps", cid).stdout.split("\n")[1:] if l.strip()]
    assert len(pids) == 3 and all(Path(f"/proc/{p}").exists() for p in pids)
    # pause / resume
    ctr("tasks", "pause", cid)
    wait_task(ctr, cid, "PAUSED")
    ctr("tasks", "resume", cid)
    wait_task(ctr, cid, "RUNNING")
    # metrics: the shim reads the container's cgroup
    metrics = ctr("tasks", "metrics", cid).stdout
    assert "pids.current" in metrics and "memory.usage_in_bytes" in metrics
    current = [l.split()[1] for l in metrics.split("\n") if l.startswith("pids.current")][0]
    assert int(current) == 3
    # kill --all: every process, not only the init
    ctr("tasks", "kill", "--all", "--signal", "KILL", cid)
    wait_task(ctr, cid, "STOPPED")
    assert not any(Path(f"/proc/{p}/stat").exists() and open(f"/proc/{p}/stat").read().split()[2] != "Z"
                   for p in pids)
    ctr("tasks", "delete", cid)
    ctr("containers", "delete", cid)


def test_uidmap_uses_hull_as_runc_from_path(ctr):
    # ctr run --uidmap ignores --runc-binary: the shim runs `runc` from containerd's PATH,
    # where the tests put hull. Its state under the shim's default root proves it was hull.
    cid = "mapped"
    ctr("run", "--detach", "--uidmap", "0:200000:65536", "--gidmap", "0:200000:65536", IMAGE, cid, "sleep", "1000")
    wait_task(ctr, cid, "RUNNING")
    try:
        state = json.loads(sh([HULL_OCI, "--root", "/run/containerd/runc/hulltest", "state", cid]).stdout)
        assert state["status"] == "running"
        uid_map = open(f"/proc/{state['pid']}/uid_map").read().split()
        assert uid_map == ["0", "200000", "65536"]
        assert os.stat(f"/proc/{state['pid']}").st_uid == 200000
    finally:
        ctr("tasks", "kill", "--signal", "KILL", cid)
        wait_task(ctr, cid, "STOPPED")
        ctr("tasks", "delete", cid)
        ctr("containers", "delete", cid)
    assert not Path(f"/run/containerd/runc/hulltest/{cid}").exists()


# Issue 19: containerd's runc shim, after a task's init exits, runs `RUNTIME kill --all ID KILL`
# when the container has no PID namespace of its own (a path to join, as a Kubernetes pod's
# shared one) to end what is left in its cgroup; then `ctr task kill` of the stopped task runs
# `RUNTIME kill ID SIGTERM`, whose error the shim recognises only by runc's words ("container
# not running"). The same steps with runc itself show what the shim expects.
RUNTIMES = {"hull": HULL_OCI, "runc": "/usr/sbin/runc"}


def shim_errors_for(containerd, cid):
    return [line for line in containerd.log.read_text().splitlines()
            if cid in line and "level=error" in line]


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_a_task_that_exits_by_itself_then_kill_and_delete(ctr, containerd, runtime, tmp_path):
    opts = ["--runc-binary", RUNTIMES[runtime], "--runc-root", ctr.runc_root]
    # The tests' PID namespace, joined by path: the shim then kills what is left on exit.
    for cid, script in ((f"exits-{runtime}", "exit 3"),
                        (f"leaves-{runtime}", "sleep 1000 & echo $! > /dev/shm/left; exit 5")):
        ctr("run", "--detach", *opts, "--with-ns", f"pid:/proc/{os.getpid()}/ns/pid", IMAGE, cid, "sh", "-c", script)
        try:
            wait_task(ctr, cid, "STOPPED")
            # The shim's kill --all on exit ended the sleep the init left behind.
            deadline = time.time() + 30
            while processes_rooted_under(ctr.home) and time.time() < deadline:
                time.sleep(0.05)
            assert processes_rooted_under(ctr.home) == []
            # The stopped task's kill: "already finished", not an unknown error.
            p = ctr("tasks", "kill", "--signal", "TERM", cid, check=False)
            assert "unknown error" not in p.stderr and "process already finished" in p.stderr, p.stderr
            p = ctr("tasks", "delete", cid)
            code = 3 if cid.startswith("exits") else 5
            assert f"exit with non-zero exit code {code}" in p.stderr, p.stderr
        finally:
            ctr("tasks", "delete", "--force", cid, check=False)
            ctr("containers", "delete", cid)
        # Nothing in containerd's log about the exit's kill --all failing.
        assert shim_errors_for(containerd, cid) == []
