"""`exec`: a new process in a running container joins its namespaces and cgroup and gets its
rlimits, capabilities, seccomp and no_new_privs; exit codes, --pid-file, runc's flags."""
import json
import os
import signal
import subprocess
import time

import pytest

from hulltest import HULL_OCI, thaw_by_hand

NAMESPACES = ("pid", "net", "mnt", "ipc", "uts", "cgroup")


@pytest.fixture
def running(hull, bundle):
    """Starts containers that sleep; deletes them afterwards."""
    made = []

    def start(edit=None, args=("sleep", "1000")):
        b = bundle(list(args))
        b.add_namespace("cgroup")
        if edit:
            edit(b)
        b.save()
        cid = hull.create(b)
        hull.oci("start", cid)
        made.append(cid)
        return cid, hull.state(cid)["pid"]

    yield start
    for cid in made:
        hull.oci("delete", "--force", cid, check=False)


def ns_links(pid):
    return {n: os.readlink(f"/proc/{pid}/ns/{n}") for n in NAMESPACES}


def test_exec_joins_every_namespace_and_the_cgroup(hull, running, tmp_path):
    cid, init = running()
    pidfile = tmp_path / "exec.pid"
    hull.oci("exec", "-d", "--pid-file", pidfile, cid, "sleep", "100")
    pid = int(pidfile.read_text())
    hull.pids.add(pid)
    assert ns_links(pid) == ns_links(init)
    assert open(f"/proc/{pid}/cgroup").read() == open(f"/proc/{init}/cgroup").read()
    # In the container's PID namespace: the kernel shows its pid there as well.
    nspid = [l for l in open(f"/proc/{pid}/status") if l.startswith("NSpid:")][0].split()[1:]
    assert len(nspid) == 2 and nspid[0] == str(pid)
    # As the container sees it: the same root, the same host name.
    out = hull.oci("exec", cid, "sh", "-c", "hostname; ls /; cat /proc/1/cmdline | tr '\\0' ' '").stdout
    assert "sleep 1000" in out and "helper" not in out.split("\n")[0]
    assert os.readlink(f"/proc/{pid}/root") == os.readlink(f"/proc/{init}/root")


def test_exec_returns_the_exit_code_and_128_plus_signal(hull, running):
    cid, _ = running()
    assert hull.oci("exec", cid, "sh", "-c", "exit 42", check=False).returncode == 42
    assert hull.oci("exec", cid, "sh", "-c", "kill -9 $$", check=False).returncode == 128 + 9
    p = hull.oci("exec", cid, "sh", "-c", "echo out; echo err >&2")
    assert p.stdout == "out\n" and p.stderr == "err\n"


def test_exec_passes_stdin(hull, running):
    cid, _ = running()
    assert hull.oci("exec", cid, "cat", input="through stdin\n").stdout == "through stdin\n"


def test_exec_flags_env_cwd_user_groups(hull, running):
    cid, _ = running()
    p = hull.oci("exec", "-e", "FOO=bar", "-e", "PATH=/bin", "--cwd", "/tmp", "-u", "1000:1001",
                 "--additional-gids", "2000", cid, "sh", "-c", 'echo "$FOO $PATH $(pwd)"; id -u; id -g; id -G')
    lines = p.stdout.split("\n")
    assert lines[0] == "bar /bin /tmp"
    assert lines[1:3] == ["1000", "1001"]
    assert "2000" in lines[3].split()


def test_exec_with_a_process_json(hull, running, tmp_path):
    cid, _ = running()
    proc = {"args": ["sh", "-c", "echo $GREETING from $(pwd) as $(id -u); exit 3"], "env": ["GREETING=hello"],
            "cwd": "/etc", "user": {"uid": 65534, "gid": 65534}, "terminal": False}
    (tmp_path / "process.json").write_text(json.dumps(proc))
    p = hull.oci("exec", "--process", tmp_path / "process.json", cid, check=False)
    assert p.returncode == 3 and p.stdout == "hello from /etc as 65534\n"
    # Bad input names the field and leaves nothing running.
    (tmp_path / "bad.json").write_text(json.dumps({"args": [], "cwd": "/"}))
    p = hull.oci("exec", "--process", tmp_path / "bad.json", cid, check=False)
    assert p.returncode == 255 and "args: at least one argument is required" in p.stderr


def status_fields(text):
    return dict(line.split(":\t", 1) for line in text.strip().split("\n") if ":\t" in line)


def test_exec_inherits_rlimits_capabilities_seccomp_and_no_new_privs(hull, running):
    def edit(b):
        b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]
        b.process["noNewPrivileges"] = True
        b.process["capabilities"] = {k: ["CAP_KILL", "CAP_CHOWN"] for k in ("bounding", "effective", "permitted")}
        b.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                              "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                                            "errnoRet": 1}]}
    cid, init = running(edit)
    init_status = status_fields(open(f"/proc/{init}/status").read())
    out = hull.oci("exec", cid, "sh", "-c", "cat /proc/self/status; ulimit -n; ulimit -Hn; mkdir /tmp/x; echo $?").stdout
    st = status_fields(out)
    for field in ("CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb", "Seccomp", "NoNewPrivs"):
        assert st[field].strip() == init_status[field].strip(), field
    assert st["Seccomp"].strip() == "2" and st["NoNewPrivs"].strip() == "1"
    assert int(st["CapEff"], 16) == (1 << 0) | (1 << 5)  # CHOWN, KILL
    tail = out.strip().split("\n")[-3:]
    assert tail[0] == "321" and tail[1] == "654"
    assert tail[2] == "1"  # mkdir refused by the container's filter


def test_exec_cap_adds_a_capability(hull, running):
    def edit(b):
        b.process["capabilities"] = {k: ["CAP_KILL"] for k in ("bounding", "effective", "permitted")}
    cid, _ = running(edit)
    eff = lambda out: int(status_fields(out)["CapEff"], 16)
    assert eff(hull.oci("exec", cid, "cat", "/proc/self/status").stdout) == 1 << 5
    assert eff(hull.oci("exec", "--cap", "CAP_NET_ADMIN", cid, "cat", "/proc/self/status").stdout) == (1 << 5) | (1 << 12)
    # Unknown names are warned about and skipped (runtime-spec 1.1+), as in a config.
    p = hull.oci("exec", "--cap", "CAP_NOPE", cid, "true", check=False)
    assert p.returncode == 0 and "warning" in p.stderr and "CAP_NOPE" in p.stderr
    assert "unknown capability: skipped" in p.stderr


def test_exec_no_new_privs_flag(hull, running):
    def edit(b):
        b.process["noNewPrivileges"] = False
    cid, _ = running(edit)
    assert status_fields(hull.oci("exec", cid, "cat", "/proc/self/status").stdout)["NoNewPrivs"].strip() == "0"
    out = hull.oci("exec", "--no-new-privs", cid, "cat", "/proc/self/status").stdout
    assert status_fields(out)["NoNewPrivs"].strip() == "1"


def test_exec_pid_file_that_cannot_be_written_ends_the_process(hull, running, tmp_path):
    cid, init = running()
    p = hull.oci("exec", "-d", "--pid-file", tmp_path / "missing" / "p.pid", cid, "sleep", "77", check=False)
    assert p.returncode != 0 and "--pid-file" in p.stderr, p.stderr
    # Only the init is left in the container, as with runc.
    assert hull.oci("ps", "--format", "json", cid).stdout.strip() == f"[{init}]"


def test_exec_detached_writes_pid_file_before_returning(hull, running, tmp_path):
    cid, init = running(lambda b: b.config["root"].update(readonly=False))
    pidfile = tmp_path / "p.pid"
    hull.oci("exec", "--detach", "--pid-file", pidfile, cid, "sh", "-c", "echo started > /tmp/mark; sleep 100")
    pid = int(pidfile.read_text())
    hull.pids.add(pid)
    assert open(f"/proc/{pid}/stat").read().split()[2] in "RS"
    deadline = time.time() + 30
    while time.time() < deadline and hull.oci("exec", cid, "cat", "/tmp/mark", check=False).stdout != "started\n":
        time.sleep(0.05)
    assert hull.oci("exec", cid, "cat", "/tmp/mark").stdout == "started\n"


def with_stray_fds(h, tmp_path, *args):
    """hull-oci with fd 3 on /dev/null and fd 9 on a host directory, as a careless caller."""
    cmd = ["/bin/sh", "-c", f'exec "$@" 3</dev/null 9<"{tmp_path}"', "sh", str(HULL_OCI), "--root", str(h.root)]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=60)


def fds_seen(out):
    return [int(l.split()[0]) for l in out.strip().split("\n")]


def test_exec_only_passes_stdio_and_preserved_fds(hull, running, tmp_path):
    cid, _ = running()
    p = with_stray_fds(hull, tmp_path, "exec", cid, "helper", "fds")
    assert fds_seen(p.stdout) == [0, 1, 2], p.stderr
    p = with_stray_fds(hull, tmp_path, "exec", "--preserve-fds", "1", cid, "helper", "fds")
    assert fds_seen(p.stdout) == [0, 1, 2, 3], p.stderr


def test_CVE_2024_21626_exec_cwd_through_a_leaked_fd_is_refused(hull, running, tmp_path):
    cid, _ = running()
    for fd in range(3, 12):
        p = with_stray_fds(hull, tmp_path, "exec", "--cwd", f"/proc/self/fd/{fd}", cid, "pwd")
        assert p.returncode == 255, (fd, p.stdout)
        assert str(tmp_path) not in p.stdout


def test_exec_errors(hull, running, bundle):
    cid, _ = running()
    p = hull.oci("exec", cid, "no-such-program", check=False)
    assert p.returncode == 255
    assert 'exec: "no-such-program": executable file not found in $PATH' in p.stderr
    p = hull.oci("exec", cid, "/etc/passwd", check=False)
    assert p.returncode == 255 and "permission denied" in p.stderr
    p = hull.oci("exec", "nope", "true", check=False)
    assert p.returncode == 255 and "container nope does not exist" in p.stderr
    p = hull.oci("exec", cid, check=False)
    assert p.returncode == 255 and "a command is required" in p.stderr
    p = hull.oci("exec", "-u", "bob", cid, "true", check=False)
    assert p.returncode == 255 and "--user" in p.stderr
    b = bundle(["true"])
    stopped = hull.create(b)
    hull.oci("start", stopped)
    hull.wait_status(stopped, "stopped")
    p = hull.oci("exec", stopped, "true", check=False)
    assert p.returncode == 255 and "stopped" in p.stderr
    hull.oci("delete", stopped)


def test_exec_into_a_created_container(hull, bundle):
    b = bundle(["true"])
    cid = hull.create(b)
    assert hull.oci("exec", cid, "cat", "/proc/1/comm").stdout.strip() != ""
    hull.oci("delete", cid)


def cgroup_dirs_of(pid):
    """The host directory of each hierarchy's cgroup of a process (v1, hybrid or v2)."""
    dirs = []
    for line in open(f"/proc/{pid}/cgroup").read().split("\n"):
        if not line:
            continue
        _, ctrls, path = line.split(":", 2)
        if ctrls == "":
            mount = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
        else:
            mount = "/sys/fs/cgroup/" + ctrls.replace("name=", "")
        if os.path.isdir(mount + path):
            dirs.append(mount + path)
    return dirs


@pytest.mark.cgroup  # the freezer: tests/vm runs it on pure cgroup v2 too
def test_exec_ignore_paused_is_in_every_cgroup_frozen_and_runs_once_resumed(hull, running, tmp_path):
    # A running container's exec process joins its v1 cgroups itself (cgroup/manager.h); into
    # a paused one hull returns without the process's answer, so it must be in every cgroup
    # (the freezer's too: frozen) when `exec` returns, and run once the container resumes.
    # Frozen before it ran at all (a loaded machine), it held hull's fds: the container's lock
    # among them, which `resume` waits for (a deadlock). It lets go of them before it can be
    # frozen (test_faults.py makes it late every time).
    cid, init = running()
    hull.oci("pause", cid)
    pidfile = tmp_path / "exec.pid"
    hull.oci("exec", "-d", "--ignore-paused", "--pid-file", pidfile, cid, "sleep", "101")
    pid = int(pidfile.read_text())
    hull.pids.add(pid)
    assert open(f"/proc/{pid}/cgroup").read() == open(f"/proc/{init}/cgroup").read()
    held = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    held = [f for f in held if f.startswith(str(hull.root))]
    if held:
        thaw_by_hand(init)  # or the fixture's delete waits for the lock too
    assert not held, "the frozen exec process holds the container's lock"
    cmdline = lambda: open(f"/proc/{pid}/cmdline").read()
    time.sleep(0.2)
    assert cmdline() != "sleep\x00101\x00"  # frozen before its execve
    try:
        hull.oci("resume", cid, timeout=20)
    except subprocess.TimeoutExpired:
        # Thawed by hand, so that the fixture can delete it.
        thaw_by_hand(init)
        raise
    deadline = time.time() + 30  # thawed, then its execve: slow only on a loaded machine
    while time.time() < deadline and cmdline() != "sleep\x00101\x00":
        time.sleep(0.02)
    assert cmdline() == "sleep\x00101\x00"


def test_exec_in_a_sub_cgroup(hull, running):
    cid, init = running()
    subs = [d + "/sub" for d in cgroup_dirs_of(init)]
    for d in subs:
        os.mkdir(d)
        if os.path.exists(d + "/cpuset.cpus"):  # a v1 cpuset starts empty
            for f in ("cpuset.cpus", "cpuset.mems"):
                open(f"{d}/{f}", "w").write(open(f"{d}/../{f}").read())
    try:
        pidfile = hull.root.parent / "sub.pid"
        hull.oci("exec", "-d", "--pid-file", pidfile, "--cgroup", "sub", cid, "sleep", "100")
        pid = int(pidfile.read_text())
        hull.pids.add(pid)
        assert sorted(cgroup_dirs_of(pid)) == sorted(subs)
    finally:
        hull.oci("kill", "--all", cid, "KILL")
        hull.wait_status(cid, "stopped")
        for d in subs:
            deadline = time.time() + 30  # EBUSY until the killed processes have left
            while True:
                try:
                    os.rmdir(d)
                    break
                except OSError:
                    if time.time() > deadline:
                        break
                    time.sleep(0.02)


def test_exec_cgroup_must_name_an_existing_sub_cgroup(hull, running):
    cid, _ = running()
    p = hull.oci("exec", "--cgroup", "nope", cid, "true", check=False)
    assert p.returncode == 255 and "does not exist" in p.stderr
    p = hull.oci("exec", "--cgroup", "../..", cid, "true", check=False)
    assert p.returncode == 255 and "below the container's cgroup" in p.stderr


def test_exec_forwards_signals_and_reports_128_plus_n(hull, running):
    cid, _ = running()
    # Each process says it is ready (its trap set) before the signal is sent: a fixed sleep
    # raced with a slow start (a loaded machine, the sanitizer build).
    p = subprocess.Popen([str(HULL_OCI), "--root", str(hull.root), "exec", cid, "sh", "-c", "echo ready; exec sleep 100"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    p.send_signal(signal.SIGTERM)
    assert p.wait(30) == 128 + signal.SIGTERM
    p = subprocess.Popen([str(HULL_OCI), "--root", str(hull.root), "exec", cid, "sh", "-c",
                          "trap 'echo got USR1; exit 4' USR1; echo ready; while :; do sleep 0.05; done"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    p.send_signal(signal.SIGUSR1)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 4 and out == "got USR1\n"
