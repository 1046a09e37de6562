"""Managing containers: ps, logs, stop, start, kill, rm, top — by name or id prefix, each
command a new hull process reading the state the previous ones left."""
import fcntl
import json
import os
import signal
import struct
import termios
import time
from pathlib import Path

from hulltest import wait_for


def test_ps_shows_running_and_with_a_the_exited_with_their_code(friendly):
    web = friendly.detach("--name", "web", "host", "sleep", "600")
    friendly.run("--name", "done", "host", "sh", "-c", "exit 3", keep=True)
    running = friendly.ps()
    assert [(c["name"], c["state"], c["id"]) for c in running] == [("web", "running", web)]
    assert running[0]["pid"] == friendly.pid("web") > 0
    everything = {c["name"]: c for c in friendly.ps("-a")}
    assert everything["done"]["state"] == "exited" and everything["done"]["exitCode"] == 3
    assert everything["done"]["pid"] == 0
    table = friendly("ps", "-a").stdout.splitlines()
    assert table[0].split() == ["CONTAINER", "ID", "IMAGE", "NAME", "COMMAND", "CREATED", "STATUS", "NETWORKS", "PORTS"]
    assert any(l.startswith(web[:12]) and " host " in l and "Up " in l and '"sleep 600"' in l for l in table)
    assert any("Exited (3)" in l for l in table)
    assert sorted(friendly("ps", "-aq").stdout.split()) == sorted([web[:12], everything["done"]["id"][:12]])
    friendly("rm", "-f", "web", "done")


def test_addressed_by_name_full_id_or_unique_prefix(friendly):
    cid = friendly.detach("--name", "byname", "host", "sleep", "600")
    for ref in ("byname", cid, cid[:5]):
        assert friendly.inspect(ref)["id"] == cid
    p = friendly("inspect", "nosuch", check=False)
    assert p.returncode == 1 and p.stderr == "hull: no such container: nosuch\n"
    friendly("rm", "-f", cid[:8])
    assert friendly.ps("-a") == []


def test_logs_of_a_detached_container_and_follow(friendly):
    cid = friendly.detach("--name", "talker", "host", "sh", "-c", "echo out; echo err >&2; sleep 1; echo later")
    friendly.wait_log("talker", "err")
    # -f returns when the container stops, with everything it wrote
    p = friendly("logs", "-f", "talker", timeout=20)
    # stdout and stderr apart, as docker's json-file driver keeps them
    assert (p.stdout, p.stderr) == ("out\nlater\n", "err\n")
    friendly.wait_state("talker", "exited")
    assert friendly.log(cid) == "out\nerr\nlater\n"
    friendly("rm", "talker")


def test_stop_sigterm_then_sigkill_after_the_grace_period(friendly):
    # sh as PID 1 ignores SIGTERM (no handler): stop must fall back to SIGKILL
    friendly.detach("--name", "stubborn", "host", "sh", "-c", "while :; do sleep 0.1; done")
    t = time.time()
    assert friendly("stop", "-t", "1", "stubborn").stdout == "stubborn\n"
    assert 0.9 < time.time() - t < 5
    st = friendly.inspect("stubborn")
    assert (st["state"], st["exitCode"]) == ("exited", 137)
    # a process that handles SIGTERM stops at once with its own code
    # (sh as PID 1 drops a SIGTERM that comes before its trap is set: wait for "ready")
    friendly.detach("--name", "polite", "host", "sh", "-c",
                    "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done")
    friendly.wait_log("polite", "ready")
    t = time.time()
    friendly("stop", "-t", "30", "polite")
    assert time.time() - t < 5
    assert friendly.inspect("polite")["exitCode"] == 42
    friendly("rm", "stubborn", "polite")


def test_start_runs_an_exited_container_again(friendly):
    friendly.run("--name", "again", "host", "sh", "-c", "echo run; cat /etc/hostname", keep=True)
    first = friendly.inspect("again")
    assert first["state"] == "exited" and first["exitCode"] == 0
    assert friendly("start", "again").stdout == "again\n"
    friendly.wait_state("again", "exited")
    second = friendly.inspect("again")
    assert second["exitCode"] == 0 and second["started"] > first["started"]
    # both runs, the foreground one and the started one, as docker's logs shows them
    assert friendly.log("again") == f"run\n{first['id'][:12]}\n" * 2
    friendly("rm", "again")


def test_kill_sends_the_signal_and_the_exit_is_recorded(friendly):
    friendly.detach("--name", "victim", "--init", "host", "sleep", "600")
    friendly("kill", "-s", "USR1", "victim")
    st = friendly.wait_state("victim", "exited")
    assert st["exitCode"] == 128 + signal.SIGUSR1
    p = friendly("kill", "victim", check=False)
    assert p.returncode == 1 and p.stderr == "hull: container victim is not running\n"
    friendly.detach("--name", "victim2", "host", "sleep", "600")
    friendly("kill", "victim2")  # SIGKILL by default, as docker's
    assert friendly.wait_state("victim2", "exited")["exitCode"] == 137
    friendly("rm", "victim", "victim2")


def test_rm_refuses_a_running_container_unless_forced(friendly):
    cid = friendly.detach("--name", "busy", "host", "sleep", "600")
    pid = friendly.pid("busy")
    p = friendly("rm", "busy", check=False)
    assert p.returncode == 1 and "container busy is running: stop it first, or use rm -f" in p.stderr
    assert friendly.inspect("busy")["state"] == "running"
    friendly("rm", "-f", "busy")
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    assert not friendly.cgroup_dir("memory", cid).exists()
    assert friendly.ps("-a") == []


def test_detached_rm_leaves_nothing_once_it_exits(friendly):
    friendly("run", "-d", "--rm", "--name", "brief", "host", "sh", "-c", "sleep 0.2")
    # ps stops listing it as its monitor starts removing it; the monitor then removes its
    # directory and ends: wait for all three.
    def gone():
        return (not friendly.ps("-a") and not any((friendly.state / "containers").iterdir())
                and not friendly.monitors())
    deadline = time.time() + 30
    while not gone() and time.time() < deadline:
        time.sleep(0.05)
    assert friendly.ps("-a") == []
    assert not any((friendly.state / "containers").iterdir())
    assert friendly.monitors() == []


def test_exit_code_survives_when_no_hull_runs_in_between(friendly):
    """ps/rm/logs across restarts of hull: every command is a new process, and nothing of hull
    stays between them but the monitor of a detached container."""
    cid = friendly.detach("--name", "long", "host", "sh", "-c", "echo hi; sleep 0.5; exit 9")
    friendly.wait_state("long", "exited")
    # The monitor records the exit first, then deletes the runtime state and leaves.
    deadline = time.time() + 30
    while friendly.monitors() and time.time() < deadline:
        time.sleep(0.05)
    assert friendly.monitors() == []
    assert friendly.inspect(cid)["exitCode"] == 9
    assert friendly.log("long") == "hi\n"
    meta = json.loads((friendly.state / "containers" / cid / "meta.json").read_text())
    assert meta["exitCode"] == 9 and meta["name"] == "long"
    friendly("rm", "long")


def test_a_killed_monitor_leaves_the_container_running_and_then_unknown(friendly):
    cid = friendly.detach("--name", "orphan", "host", "sleep", "600")
    # the monitor (its logger is a thread of it, not a process)
    [monitor] = [p for p in friendly.monitors() if Path(f"/proc/{p}/comm").read_text().strip() == "hull-monitor"]
    assert json.loads((friendly.state / "containers" / cid / "meta.json").read_text())["monitor"]["pid"] == monitor
    os.kill(monitor, signal.SIGKILL)
    time.sleep(0.2)
    assert friendly.inspect("orphan")["state"] == "running"  # the kernel still runs it
    os.kill(friendly.pid("orphan"), signal.SIGKILL)
    deadline = time.time() + 30
    while friendly.inspect("orphan")["state"] != "exited" and time.time() < deadline:
        time.sleep(0.05)
    st = friendly.inspect("orphan")
    assert st["state"] == "exited" and "exitCode" not in st
    assert "unknown" in st["status"]
    friendly("rm", "orphan")  # cleans the stale runtime state and cgroup


def test_top_lists_host_and_container_pids(friendly):
    cid = friendly.detach("--name", "tops", "host", "sh", "-c", "sleep 600 & sleep 601")
    deadline = time.time() + 30
    # three processes, each past its exec (a forked sh is "sh -c ..." until it execs sleep)
    while time.time() < deadline:
        out = friendly("top", "tops").stdout.splitlines()[1:]
        if len(out) == 3 and sum(" sleep 60" in l and "sh -c" not in l for l in out) == 2:
            break
        time.sleep(0.05)
    rows = [l.split(None, 6) for l in friendly("top", "tops").stdout.splitlines()[1:]]
    assert len(rows) == 3
    for host_pid, inner, *_rest in rows:
        nspid = [l for l in Path(f"/proc/{host_pid}/status").read_text().splitlines() if l.startswith("NSpid:")][0]
        assert nspid.split()[1:] == [host_pid, inner]
    assert sorted(r[6] for r in rows) == ["sh -c sleep 600 & sleep 601", "sleep 600", "sleep 601"]
    friendly("rm", "-f", cid)


def test_commands_on_missing_containers_fail_with_one_line(friendly):
    for verb in (["stop"], ["start"], ["kill"], ["rm"], ["rm", "-f"], ["logs"], ["top"], ["inspect"],
                 ["pause"], ["unpause"], ["update", "--memory", "64m"]):
        p = friendly(*verb, "ghost", check=False)
        assert p.returncode == 1, verb
        assert p.stderr == "hull: no such container: ghost\n", (verb, p.stderr)


def test_pause_freezes_and_unpause_thaws(friendly):
    cid = friendly.detach("--name", "ticker", "host", "sh", "-c", "while :; do echo tick; sleep 0.05; done")
    friendly.wait_log("ticker", "tick\ntick\n")
    assert friendly("pause", "ticker").stdout == "ticker\n"
    st = friendly.inspect("ticker")
    assert st["state"] == "paused" and st["status"].endswith("(Paused)")
    assert (friendly.cgroup_dir("freezer", cid) / "freezer.state").read_text().strip() == "FROZEN"
    # what it wrote before the freeze is all in the log: the logger has emptied its pipe
    out = f"/proc/{friendly.pid('ticker')}/fd/1"
    assert os.readlink(out).startswith("pipe:")

    def drained():
        fd = os.open(out, os.O_RDONLY | os.O_NONBLOCK)
        try:
            return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0] == 0
        finally:
            os.close(fd)
    wait_for(drained, "the logger to read the ticks written before the freeze")
    n = friendly.log("ticker").count("tick")
    time.sleep(0.5)
    assert friendly.log("ticker").count("tick") == n
    p = friendly("pause", "ticker", check=False)
    assert p.returncode == 1 and p.stderr == "hull: container ticker is already paused\n"
    friendly("unpause", "ticker")
    p = friendly("unpause", "ticker", check=False)
    assert p.returncode == 1 and p.stderr == "hull: container ticker is not paused\n"
    assert (friendly.cgroup_dir("freezer", cid) / "freezer.state").read_text().strip() == "THAWED"
    deadline = time.time() + 30
    while friendly.log("ticker").count("tick") <= n and time.time() < deadline:
        time.sleep(0.05)
    assert friendly.log("ticker").count("tick") > n
    assert friendly.inspect("ticker")["state"] == "running"
    # stop and rm -f deal with a paused container too
    friendly("pause", "ticker")
    friendly("stop", "ticker", timeout=20)
    assert friendly.inspect("ticker")["state"] == "exited"
    friendly("rm", "ticker")


def test_update_changes_limits_now_and_for_the_next_start(friendly):
    cid = friendly.detach("--name", "up", "--memory", "64m", "host", "sleep", "600")
    mem = friendly.cgroup_dir("memory", cid) / "memory.limit_in_bytes"
    assert mem.read_text().strip() == str(64 << 20)
    assert friendly("update", "--memory", "128m", "--pids-limit", "20", "--cpus", "0.5", "up").stdout == "up\n"
    assert mem.read_text().strip() == str(128 << 20)
    assert (friendly.cgroup_dir("pids", cid) / "pids.max").read_text().strip() == "20"
    assert (friendly.cgroup_dir("cpu", cid) / "cpu.cfs_quota_us").read_text().strip() == "50000"
    friendly("stop", "-t", "0", "up")
    # docker updates a stopped container too: the next start gets the new limit
    assert friendly("update", "--memory", "96m", "up").stdout == "up\n"
    friendly("start", "up")
    friendly.wait_state("up", "running")
    assert mem.read_text().strip() == str(96 << 20)
    assert (friendly.cgroup_dir("pids", cid) / "pids.max").read_text().strip() == "20"
    assert (friendly.cgroup_dir("cpu", cid) / "cpu.cfs_quota_us").read_text().strip() == "50000"
    p = friendly("update", "up", check=False)
    assert p.returncode == 1 and "nothing to update" in p.stderr
    p = friendly("update", "--memory", "lots", "up", check=False)
    assert p.returncode == 1 and p.stderr == 'hull: --memory: invalid size "lots" (want a number with an optional unit: b, k, m or g)\n'
    friendly("rm", "-f", "up")
