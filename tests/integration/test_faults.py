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

from hulltest import BUILD, HULL_OCI, comm, thaw_by_hand, wait_for

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
    wait_for(lambda: not processes_rooted_in(tmp_path), "the orphaned init to exit", timeout=30)


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


@pytest.mark.cgroup  # the freezer: tests/vm runs it on pure cgroup v2 too
def test_an_exec_into_a_paused_container_freezes_holding_nothing_of_hulls(hull, bundle, faulty, tmp_path):
    """exec -d --ignore-paused whose clone runs 500 ms late (what a loaded machine did now and
    then): hull waits for it to let go of hull's fds before it joins it to the frozen cgroup.
    Frozen holding them, it held the container's lock, and `resume` waited for it forever."""
    b, cid = container_bundle(hull, bundle, False)
    hull.create(b, cid)
    hull.oci("start", cid)
    init = hull.state(cid)["pid"]
    hull.oci("pause", cid)
    pidfile = tmp_path / "exec.pid"
    p = faulty("exec.child-late", "exec", "-d", "--ignore-paused", "--pid-file", pidfile, cid, "sleep", "102",
               check_killed=False)
    assert p.returncode == 0, p.stderr
    pid = int(pidfile.read_text())
    hull.pids.add(pid)
    held = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    held = [f for f in held if f.startswith(str(hull.root))]
    if held:
        thaw_by_hand(init)  # or the fixture's delete waits for the lock too
    assert not held, "the frozen exec process holds the container's lock"
    try:
        hull.oci("resume", cid, timeout=20)
    except subprocess.TimeoutExpired:
        thaw_by_hand(init)
        raise
    wait_for(lambda: Path(f"/proc/{pid}/cmdline").read_text() == "sleep\0" "102\0", "the exec process to run")
    delete_force_leaves_nothing(hull, cid, tmp_path)


def test_a_run_whose_process_runs_is_running_to_kill_even_when_run_is_late(hull, bundle, tmp_path):
    """`run` saved "running" only once it had seen the exec: a process that printed before
    then (a loaded machine wakes run late) could not be killed ("still being created"), as
    test_foreground_run_killed_by_signal_n_exits_128_plus_n saw under CI's load. The fault
    makes run 1 s late after the exec; kill must work at once."""
    link = tmp_path / "fault-bin" / "hull-oci"
    link.parent.mkdir()
    link.symlink_to(FAULTY)
    b = bundle(["sh", "-c", "echo ready; sleep 100"])
    cid = hull.new_id()
    p = subprocess.Popen([str(link), "--root", str(hull.root), "run", "--bundle", str(b.path), cid],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, HULL_FAULT_AT="run.started-late"))
    try:
        assert p.stdout.readline() == "ready\n"
        assert hull.state(cid)["status"] == "running"
        hull.oci("kill", cid, "KILL")
        p.communicate(timeout=30)
        assert p.returncode == 128 + 9, p.stderr
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_where_the_in_place_image_switch_fails_hull_re_executes_from_the_read_only_image(hull, bundle, faulty):
    """linux/self_image.h: from a writable binary hull maps itself from a read-only mount in
    place, and re-executes through that mount when the switch fails (an older kernel, a
    mapping it cannot replace). The fault takes that fallback: the container's init (a fork of
    the re-executed hull) has its exe on the read-only mount, and the re-exec's marker in the
    environment it was executed with."""
    b, cid = container_bundle(hull, bundle, False)
    p = faulty("self-image.switch", "create", "--bundle", b.path, cid, check_killed=False)
    assert p.returncode == 0, p.stderr
    try:
        init = hull.state(cid)["pid"]
        exe = f"/proc/{init}/exe"
        assert os.path.samefile(exe, FAULTY) and os.statvfs(exe).f_flag & os.ST_RDONLY
        assert b"_HULL_READ_ONLY_IMAGE=" in Path(f"/proc/{init}/environ").read_bytes()
    finally:
        hull.oci("delete", "--force", cid)


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


def test_run_d_whose_command_dies_before_the_report_leaves_the_container_monitored(friendly, faulty_friendly):
    """The command killed while the monitor is about to tell it that the container runs: the
    monitor, finding nobody to tell, goes on as ever: it logs the output, and records the exit
    when the container stops."""
    p = faulty_friendly("monitor.command-gone", "run", "-d", "--name", "orphan", "host", "sh", "-c",
                        "echo one; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo two; exit 7")
    assert p.returncode == -signal.SIGKILL, p
    friendly.wait_log("orphan", "one")
    assert [comm(q) for q in friendly.monitors()] == ["hull-monitor"]
    assert friendly.inspect("orphan")["state"] == "running"
    friendly("exec", "orphan", "touch", "/tmp/go")
    friendly.wait_state("orphan", "exited")
    st = friendly.inspect("orphan")
    assert st["exitCode"] == 7, st
    assert friendly("logs", "orphan").stdout == "one\ntwo\n"
    friendly("rm", "orphan")
    assert friendly.monitors() == []


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
    # The log is exactly what the container wrote: hull's own warning is not in it (the
    # monitor's stderr is the container's) but in monitor.log, which inspect shows.
    assert (p.stdout, p.stderr) == ("o1\nlast", "e1\n"), p
    log = Path(friendly.state) / "containers" / cid / "container.log"
    assert "logger thread" not in log.read_text()
    warning = "logger thread: Resource temporarily unavailable"
    st = friendly.inspect("one")
    assert st["monitorLog"] == str(Path(friendly.state) / "containers" / cid / "monitor.log")
    assert [(m["level"], m["message"]) for m in st["monitorMessages"]] == [("warning", warning)], st
    assert re.fullmatch(r'time="[0-9T:.+-]+Z?" level=warning msg="logger thread: Resource '
                        r'temporarily unavailable"\n', Path(st["monitorLog"]).read_text())
    text = friendly("inspect", "one").stdout
    assert f"hull's monitor said ({st['monitorLog']}):" in text, text
    assert re.search(rf"^ +\S+ warning: {warning}$", text, re.M), text
    deadline = time.time() + 30
    while friendly.monitors() and time.time() < deadline:
        time.sleep(0.05)
    assert friendly.monitors() == []  # the logger reaped by the monitor, both gone
    friendly("rm", cid)


def test_wait_reads_the_code_of_a_rm_container_whose_directory_is_going(friendly, faulty_friendly):
    """`wait` on a --rm container read its status while its directory was being removed
    (meta.json gone, the directory not yet) and failed with "no such container", as
    test_rename_and_wait saw under CI's load. The fault holds the removal half way for 1 s."""
    p = faulty_friendly("release.half-removed", "run", "-d", "--rm", "--name", "going", "host", "sh", "-c",
                        "sleep 0.3; exit 5")
    assert p.returncode == 0, p.stderr
    assert friendly("wait", "going", timeout=30).stdout == "5\n"
    wait_for(lambda: not friendly.monitors(), "the monitor to finish the removal")
