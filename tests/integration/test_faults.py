"""Fault injection (issue 16): build/hull-fault is hull with its fault points live
(src/util/fault.h); HULL_FAULT_AT=STEP makes it SIGKILL itself at that step of create,
start, exec, delete or update, as an engine's timeout or the OOM killer would. After each
kill, `delete --force` by the ordinary hull must leave nothing: no state, no cgroup in any
hierarchy (nor a parent hull made for a nested cgroupsPath), no mount, no process (the
fixture checks all of them). The friendly face's monitor has fault points too: killed
before it reports, and without a thread for its logger."""
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from hulltest import BUILD, HULL_OCI, wait_for

FAULTY = BUILD / "hull-fault"

CREATE_STEPS = ["create.recorded", "create.cgroup", "create.cloned", "create.saved", "create.ready"]

pytestmark = pytest.mark.skipif(not FAULTY.exists(), reason=f"{FAULTY} is not built")


@pytest.fixture
def faulty(hull, tmp_path):
    """Runs hull-fault as hull-oci (it picks its face by its name)."""
    link = tmp_path / "fault-bin" / "hull-oci"
    link.parent.mkdir()
    link.symlink_to(FAULTY)

    def run(step, *args, check_killed=True):
        env = dict(os.environ, HULL_FAULT_AT=step)
        hull.hull_oci = link
        try:
            p = hull.oci(*args, check=False, env=env, files=True)
        finally:
            hull.hull_oci = HULL_OCI
        if check_killed:
            assert p.returncode == -signal.SIGKILL, (step, p.returncode, p.stderr)
        return p

    return run


def container_bundle(hull, bundle, custom):
    b = bundle(["sleep", "1000"])
    cid = hull.new_id()
    if custom:
        # Nested, as engines write them: hull makes both levels, and must remove both.
        b.linux["cgroupsPath"] = f"/{hull.prefix}-pod/{cid}"
    b.save()
    return b, cid


def processes_rooted_in(path):
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if os.readlink(p / "cwd").startswith(str(path)) or os.readlink(p / "root").startswith(str(path)):
                    out.append(p.name)
            except OSError:
                pass
    return out


def delete_force_leaves_nothing(hull, cid, tmp_path):
    hull.oci("delete", "--force", cid)
    assert not (hull.root / cid).exists()
    # An init killed with its parent before it was released exits by itself (its sync socket
    # closed); give it the moment it needs before the fixture looks.
    wait_for(lambda: not processes_rooted_in(tmp_path), "the orphaned init to exit", timeout=10)


@pytest.mark.parametrize("custom", [False, True], ids=["default-cgroup", "custom-cgroup"])
@pytest.mark.parametrize("step", CREATE_STEPS)
def test_create_killed_at_each_step(hull, bundle, faulty, tmp_path, step, custom):
    b, cid = container_bundle(hull, bundle, custom)
    faulty(step, "create", "--bundle", b.path, cid)
    assert (hull.root / cid).exists()
    delete_force_leaves_nothing(hull, cid, tmp_path)


@pytest.mark.parametrize("custom", [False, True], ids=["default-cgroup", "custom-cgroup"])
@pytest.mark.parametrize("step, verb", [
    ("start.sent", ["start"]),
    ("exec.cloned", ["exec", "CID", "true"]),
    ("update.applied", ["update", "--memory", "64m", "CID"]),
    ("delete.killed", ["delete", "--force"]),
    ("delete.cgroup", ["delete", "--force"]),
])
def test_a_verb_killed_at_each_step(hull, bundle, faulty, tmp_path, step, verb, custom):
    b, cid = container_bundle(hull, bundle, custom)
    hull.create(b, cid)
    if step != "start.sent":
        hull.oci("start", cid)
    args = [cid if a == "CID" else a for a in verb]
    if "CID" not in verb:
        args.append(cid)
    faulty(step, *args)
    delete_force_leaves_nothing(hull, cid, tmp_path)


def test_the_release_binary_ignores_the_variable(hull, bundle):
    b = bundle(["true"])
    env = dict(os.environ, HULL_FAULT_AT="create.cgroup")
    assert hull.run(b, env=env).returncode == 0


# --- the friendly face's monitor (`hull run -d`, `hull start`) -----------------------------

@pytest.fixture
def faulty_friendly(friendly, tmp_path):
    """Runs hull-fault as `hull` (the friendly face) with the test's state and HULL_FAULT_AT."""
    link = tmp_path / "fault-bin" / "hull"
    link.parent.mkdir()
    link.symlink_to(FAULTY)

    def run(step, *args):
        return subprocess.run([str(link)] + [str(a) for a in args], capture_output=True, text=True, timeout=60,
                              env=dict(friendly.env, HULL_FAULT_AT=step), stdin=subprocess.DEVNULL)

    return run


def comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def processes_running(argv):
    want = ("\0".join(argv) + "\0").encode()
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "cmdline").read_bytes() == want:
                    out.append(int(p.name))
            except OSError:
                pass
    return out


def no_runtime_state_or_cgroup(friendly, cid):
    assert not (friendly.root / cid).exists()
    assert not [d for d in Path("/sys/fs/cgroup").glob(f"*/{friendly.cgroup_parent.lstrip('/')}/{cid}")]


@pytest.mark.parametrize("step", ["monitor.forked", "monitor.started"])
def test_run_d_whose_monitor_dies_before_it_reports(friendly, faulty_friendly, step):
    """The monitor SIGKILLed before it tells the command the container started: at once
    (nothing made yet), or with the container running (nobody waits for it then). The
    command says so in one line, exits 125, and takes all of it away: the container, its
    process, runtime state and cgroup, its record and name."""
    argv = ["sleep", str(random.randrange(100000, 999999))]
    p = faulty_friendly(step, "run", "-d", "--name", "doomed", "host", *argv)
    assert (p.returncode, p.stdout) == (125, ""), p
    assert p.stderr == "hull: the monitor of container doomed died before the container started (signal 9)\n"
    assert processes_running(argv) == []
    assert friendly.ps("-a") == [] and not any((friendly.state / "containers").iterdir())
    assert not (friendly.state / "names" / "doomed").exists()
    assert not friendly.root.exists() or not [d for d in friendly.root.iterdir() if not d.name.startswith(".")]
    assert friendly.monitors() == []
    # The name is free again.
    cid = friendly.detach("--name", "doomed", "host", *argv)
    friendly("rm", "-f", cid)
    assert processes_running(argv) == []


def test_start_whose_monitor_dies_before_it_reports(friendly, faulty_friendly):
    """`hull start` of a stopped container: the same, but the container stays, stopped, and
    starts again afterwards."""
    argv = ["sleep", str(random.randrange(100000, 999999))]
    cid = friendly.detach("--name", "again", "host", *argv)
    friendly("stop", "-t", "0", "again")
    friendly.wait_state("again", "exited")
    p = faulty_friendly("monitor.started", "start", "again")
    assert (p.returncode, p.stdout) == (1, ""), p  # docker start's code for every error
    assert p.stderr == "hull: the monitor of container again died before the container started (signal 9)\n"
    assert processes_running(argv) == []
    no_runtime_state_or_cgroup(friendly, cid)
    assert friendly.monitors() == []
    st = friendly.inspect("again")
    assert st["state"] == "exited", st
    friendly("start", "again")
    assert friendly.inspect("again")["state"] == "running"
    friendly("rm", "-f", "again")
    assert processes_running(argv) == []


def test_the_monitors_logger_is_a_process_when_no_thread_can_be_started(friendly, faulty_friendly):
    """pthread_create failing (made to, as EAGAIN): the monitor forks its logger instead, and
    the log is as complete as from the thread: both streams, the last line without a newline
    once the container has exited."""
    p = faulty_friendly("monitor.logger-thread", "run", "-d", "--name", "one", "host", "sh", "-c",
                        "echo o1; echo e1 >&2; printf last; sleep 600")
    assert p.returncode == 0 and p.stderr == "", p
    cid = p.stdout.strip()
    friendly.wait_log("one", "e1")
    procs = {q: comm(q) for q in friendly.monitors()}
    assert sorted(procs.values()) == ["hull-logger", "hull-monitor"], procs
    [monitor] = [q for q, c in procs.items() if c == "hull-monitor"]
    [logger] = [q for q, c in procs.items() if c == "hull-logger"]
    assert re.search(r"^Threads:\s+1$", Path(f"/proc/{monitor}/status").read_text(), re.M)
    assert re.search(rf"^PPid:\s+{monitor}$", Path(f"/proc/{logger}/status").read_text(), re.M)
    friendly("stop", "-t", "1", "one")
    assert friendly.inspect("one")["state"] == "exited"
    p = friendly("logs", "one")
    assert p.stdout == "o1\nlast"
    # The monitor's own warning goes where its stderr goes, into the container's log (as the
    # container writes its own: in either order).
    warning = "hull: warning: logger thread: Resource temporarily unavailable"
    assert sorted(p.stderr.splitlines()) == ["e1", warning], p.stderr
    deadline = time.time() + 5
    while friendly.monitors() and time.time() < deadline:
        time.sleep(0.05)
    assert friendly.monitors() == []  # the logger reaped by the monitor, both gone
    friendly("rm", cid)
