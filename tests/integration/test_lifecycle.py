"""The OCI lifecycle (runtime-spec runtime.md): creating -> created -> running -> stopped.
Tests marked cgroup create, signal or remove the container's cgroup; tests/vm/run-suite runs
them again on a pure cgroup v2 host."""
import json
import os
import shlex
import subprocess
import threading

import pytest

from hulltest import wait_for


@pytest.mark.cgroup
def test_run_prints_and_exits_with_the_containers_code(hull, bundle):
    b = bundle(["sh", "-c", "echo hello; exit 7"])
    p = hull.run(b)
    assert p.stdout == "hello\n"
    assert p.returncode == 7


@pytest.mark.cgroup
def test_run_reports_death_by_signal_as_128_plus_n(hull, bundle):
    # PID 1 of a namespace ignores signals sent from inside it; a fault is forced on it.
    b = bundle(["helper", "segv"])
    assert hull.run(b).returncode == 128 + 11


@pytest.mark.cgroup
def test_transitions_created_running_stopped_deleted(hull, bundle):
    b = bundle(["sh", "-c", "read line < /dev/stdin; sleep 30"])
    cid = hull.create(b, stdin=subprocess.DEVNULL)
    st = hull.state(cid)
    assert st["status"] == "created"
    assert st["pid"] > 0 and st["bundle"] == str(b.path) and st["id"] == cid
    assert st["ociVersion"].startswith("1.")
    hull.oci("start", cid)
    hull.wait_status(cid, "running")
    # start only works on a created container
    p = hull.oci("start", cid, check=False)
    assert p.returncode != 0 and "not created" in p.stderr
    # delete refuses a running container without --force
    p = hull.oci("delete", cid, check=False)
    assert p.returncode != 0 and "not stopped" in p.stderr
    hull.oci("kill", cid, "KILL")
    hull.wait_status(cid, "stopped")
    assert hull.state(cid)["pid"] == 0
    hull.oci("delete", cid)
    p = hull.oci("state", cid, check=False)
    assert p.returncode != 0 and "does not exist" in p.stderr


@pytest.mark.cgroup
def test_state_writes_reuse_two_inodes_and_ignore_a_torn_next(hull, bundle):
    # state.json is replaced by exchanging names with state.json.next (the previous version),
    # never by a new file renamed over it: no inode is taken or freed per write (bench/README.md,
    # "live containers"). A state.json.next cut short by a crash is never read, only rewritten.
    cid = hull.create(bundle(["sleep", "1000"]))
    d = hull.root / cid
    state, nxt = d / "state.json", d / "state.json.next"
    inodes = {state.stat().st_ino, nxt.stat().st_ino}
    assert json.loads(state.read_text())["status"] == "created"
    nxt.write_text('{"ociVersion": "1.2.0", "id": "' + cid + '", "sta')  # a write a crash cut short
    assert hull.state(cid)["status"] == "created"
    hull.oci("start", cid)
    assert hull.state(cid)["status"] == "running"
    assert {state.stat().st_ino, nxt.stat().st_ino} == inodes
    assert json.loads(nxt.read_text())["status"] == "created"  # the version before, whole
    rec = (d / "recovery.json").stat().st_ino  # written once for a container with a cgroup
    hull.oci("kill", cid, "KILL")
    hull.wait_status(cid, "stopped")
    assert (d / "recovery.json").stat().st_ino == rec
    assert not list(d.glob("*.tmp*"))
    hull.oci("delete", cid)
    assert not d.exists()


@pytest.mark.cgroup
def test_state_and_list_read_whole_files_while_containers_are_made(hull, bundle):
    # state and list take no lock while create and start replace state.json (by exchange with
    # state.json.next, whose inode the next write rewrites): they never see a torn file.
    b = bundle(["sleep", "1000"])
    done, bad, seen = threading.Event(), [], []

    def read():
        while not done.is_set():
            p = hull.oci("list", "--format", "json", check=False)
            if p.returncode != 0 or p.stderr.strip():
                bad.append(p.stderr)
            else:
                seen.extend(e["status"] for e in json.loads(p.stdout))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        for _ in range(8):
            cid = hull.create(b)
            hull.oci("start", cid)
            hull.oci("delete", "--force", cid)
    finally:
        done.set()
        for t in readers:
            t.join()
    assert not bad, bad[:3]
    assert "unknown" not in seen and seen


@pytest.mark.cgroup
def test_delete_of_a_container_already_gone_fails_cleanly(hull, bundle):
    b = bundle(["true"])
    cid = hull.create(b)
    hull.oci("delete", cid)
    p = hull.oci("delete", cid, check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == f"hull: container {cid} does not exist"
    # --force: gone is what was asked for (runc, crun; engines' cleanup paths rely on it).
    assert hull.oci("delete", "--force", cid).returncode == 0


@pytest.mark.cgroup
def test_delete_of_a_created_container_kills_its_init(hull, bundle):
    b = bundle(["true"])
    cid = hull.create(b)
    pid = hull.state(cid)["pid"]
    hull.oci("delete", cid)
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


@pytest.mark.cgroup
def test_delete_force_kills_a_running_container(hull, bundle):
    b = bundle(["sleep", "60"])
    cid = hull.create(b)
    hull.oci("start", cid)
    hull.oci("delete", "--force", cid)


def test_pid_file_is_written_before_create_returns(hull, bundle, tmp_path):
    b = bundle(["true"])
    pidfile = tmp_path / "init.pid"
    cid = hull.create(b, None, "--pid-file", pidfile)
    assert int(pidfile.read_text()) == hull.state(cid)["pid"]
    hull.oci("delete", cid)


@pytest.mark.cgroup
def test_kill_accepts_names_and_numbers(hull, bundle):
    # As PID 1 of its namespace the shell gets USR1 only once its trap is set: wait for that,
    # however slow the machine (the cgroup v2 suite runs under emulation).
    b = bundle(["sh", "-c", "trap 'echo got USR1; exit 3' USR1; touch /dev/shm/trapped; while true; do sleep 0.05; done"])
    for sig in ("USR1", "SIGUSR1", "10"):
        cid = hull.create(b)
        trapped = f"/proc/{hull.state(cid)['pid']}/root/dev/shm/trapped"
        hull.oci("start", cid)
        wait_for(lambda: os.path.exists(trapped), "the container's trap")
        hull.oci("kill", cid, sig)
        hull.wait_status(cid, "stopped")
        hull.oci("delete", cid)
    p = hull.oci("kill", "nope", "NOTASIGNAL", check=False)
    assert p.returncode == 1 and "signal" in p.stderr


@pytest.mark.cgroup
def test_kill_default_is_sigterm_and_all_reaches_every_process(hull, bundle):
    # No signal named: SIGTERM, as runc. The init is PID 1 of its namespace and ignores a
    # SIGTERM it has no handler for, so the container stops only if --all reached the two
    # children as well; each says which signal it got in a file of the (writable) rootfs.
    child = "trap 'echo TERM >> /got; exit 0' TERM; touch /ready$1; while :; do sleep 0.05; done"
    b = bundle(["sh", "-c", f"for i in 1 2; do sh -c {shlex.quote(child)} child $i & done; wait"],
               readonly=False)
    cid = hull.create(b)
    hull.oci("start", cid)
    wait_for(lambda: (b.rootfs / "ready1").exists() and (b.rootfs / "ready2").exists(),
             "both children's traps")
    hull.oci("kill", "--all", cid)
    hull.wait_status(cid, "stopped")
    assert (b.rootfs / "got").read_text().split() == ["TERM", "TERM"]
    hull.oci("delete", cid)


def test_list_shows_table_json_and_quiet(hull, bundle):
    b = bundle(["true"])
    cid = hull.create(b)
    table = hull.oci("list").stdout.splitlines()
    assert table[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert any(line.split()[0] == cid and line.split()[2] == "created" for line in table[1:])
    data = json.loads(hull.oci("list", "--format", "json").stdout)
    assert [c["id"] for c in data] == [cid]
    assert hull.oci("list", "-q").stdout.split() == [cid]
    hull.oci("delete", cid)


@pytest.mark.cgroup
def test_two_concurrent_creates_of_one_id_exactly_one_wins(hull, bundle):
    b = bundle(["true"])
    cid = hull.new_id()
    results = []

    def go():
        results.append(hull.oci("create", "--bundle", b.path, cid, check=False))

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r.returncode == 0]
    assert len(ok) == 1
    for r in results:
        if r.returncode != 0:
            assert "already exists" in r.stderr
    hull.state(cid)
    hull.oci("delete", cid)


def test_no_hull_process_stays_between_caller_and_container(hull, bundle):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        b = bundle(["sleep", "30"])
        cid = hull.create(b)
        pid = hull.state(cid)["pid"]
        ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
        assert ppid == os.getpid()
        hull.oci("delete", "--force", cid)
        os.waitpid(pid, 0)
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
