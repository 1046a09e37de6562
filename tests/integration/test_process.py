"""process.* and the per-process parts of linux.*: user, groups, umask, cwd, env, rlimits,
oomScoreAdj, sysctl, noNewPrivileges, fds, terminal."""
import os
import resource
import socket
import subprocess
import threading

from hulltest import read_to_eof


def test_user_groups_and_umask(hull, bundle):
    b = bundle(["sh", "-c", "id; umask"])
    b.process["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [5, 7], "umask": 0o027}
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    ident, umask = p.stdout.splitlines()
    assert ident.startswith("uid=1000 gid=1001 groups=")
    assert sorted(int(g) for g in ident.split("groups=")[1].replace("(", " ").split(",") if g.strip().isdigit()) \
        == [5, 7] or "groups=5,7" in ident.replace("(", "").replace(")", "")
    assert umask == "0027"


def test_umask_defaults_to_022_whatever_the_callers(hull, bundle):
    b = bundle(["sh", "-c", "umask"])
    old = os.umask(0)
    try:
        p = hull.run(b)
    finally:
        os.umask(old)
    assert p.stdout.strip() == "0022", p.stderr


def test_a_user_can_reopen_its_stdio_and_enter_a_root_only_cwd(hull, bundle):
    # The test's pipes are root's (mode 0600): reopening them through /proc needs them to be
    # the user's, as runc makes them. The cwd is a root-only directory, entered as root first.
    b = bundle(["sh", "-c", "pwd; echo via-proc > /proc/self/fd/1; echo err-too > /proc/self/fd/2"])
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.process["cwd"] = "/priv"
    b.config["mounts"].append({"destination": "/priv", "type": "tmpfs", "source": "tmpfs",
                               "options": ["mode=700"]})
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["/priv", "via-proc"]
    assert "err-too" in p.stderr


def test_root_gets_no_supplementary_groups_of_the_caller(hull, bundle):
    b = bundle(["cat", "/proc/self/status"])
    p = hull.run(b)
    groups = [l for l in p.stdout.splitlines() if l.startswith("Groups:")][0].split()[1:]
    assert groups == []


def test_cwd_env_and_args(hull, bundle):
    b = bundle(["sh", "-c", 'pwd; echo "$GREETING"; echo "$#:$0:$1"', "zero", "one"])
    b.process["cwd"] = "/tmp"
    b.process["env"] = ["PATH=/bin", "GREETING=hello there"]
    b.save()
    p = hull.run(b)
    assert p.stdout.splitlines() == ["/tmp", "hello there", "1:zero:one"]


def test_environment_is_exactly_the_specs(hull, bundle):
    b = bundle(["env"])
    b.process["env"] = ["PATH=/bin", "ONLY=this"]
    b.save()
    p = hull.run(b, env={"PATH": "/usr/bin:/bin", "LEAK": "from-the-caller"})
    # HOME is the one addition (runc's rule, issue 18): from the user's /etc/passwd entry.
    assert sorted(p.stdout.split()) == ["HOME=/root", "ONLY=this", "PATH=/bin"]


def test_rlimits(hull, bundle):
    b = bundle(["sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"])
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000},
                            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
    b.save()
    assert hull.run(b).stdout.split() == ["512", "1000", "0"]


def test_rlimit_above_the_callers_hard_limit_is_a_clear_error(hull, bundle):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    b = bundle(["true"])
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": hard + 1, "hard": hard + 1}]
    b.save()
    p = hull.run(b)
    assert p.returncode == 1
    assert f"set RLIMIT_NOFILE to soft {hard + 1} hard {hard + 1}" in p.stderr
    assert "CAP_SYS_RESOURCE" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_oom_score_adj(hull, bundle):
    b = bundle(["cat", "/proc/self/oom_score_adj"])
    b.process["oomScoreAdj"] = 500
    b.save()
    assert hull.run(b).stdout.strip() == "500"


def test_sysctl_in_the_containers_namespaces(hull, bundle):
    b = bundle(["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"])
    b.linux["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}
    b.save()
    p = hull.run(b)
    assert p.stdout.split() == ["1", "1234"], p.stderr
    assert open("/proc/sys/kernel/shmmni").read().strip() != "1234"


def test_sysctl_that_is_not_namespaced_is_refused(hull, bundle):
    b = bundle(["true"])
    b.linux["sysctl"] = {"vm.swappiness": "10"}
    b.save()
    p = hull.run(b)
    assert p.returncode == 1
    assert "linux.sysctl.vm.swappiness: not namespaced" in p.stderr


def test_no_new_privileges(hull, bundle):
    for nnp, want in ((True, "1"), (False, "0")):
        b = bundle(["sh", "-c", "grep NoNewPrivs /proc/self/status"])
        b.process["noNewPrivileges"] = nnp
        b.save()
        assert hull.run(b).stdout.split() == ["NoNewPrivs:", want]


def test_only_stdio_reaches_the_container(hull, bundle, tmp_path):
    # A stray fd of the caller must not pass into the container.
    stray = open(tmp_path / "stray", "w")
    b = bundle(["helper", "fds"])
    p = hull.run(b, pass_fds=(stray.fileno(),))
    fds = [l.split(" -> ")[0] for l in p.stdout.splitlines()]
    # 0-2, plus the fd helper itself uses to read /proc/self/fd.
    assert set(fds) <= {"0", "1", "2", "3"}, p.stdout
    assert str(tmp_path / "stray") not in p.stdout
    stray.close()


def test_preserve_fds_passes_exactly_n_more(hull, bundle, tmp_path):
    from hulltest import HULL_OCI
    r, w = os.pipe()
    b = bundle(["sh", "-c", "echo through-fd-3 >&3; ls /proc/self/fd"])
    cid = hull.new_id()
    # The caller's fd 3 is the pipe (shell redirection), fd 4 a stray file: only 3 passes.
    cmd = f"exec {HULL_OCI} --root {hull.root} run --preserve-fds 1 --bundle {b.path} {cid} 3>&{w} 4>{tmp_path}/stray"
    p = subprocess.run(["bash", "-c", cmd], pass_fds=(w,), capture_output=True, text=True)
    os.close(w)
    data = os.read(r, 100)
    os.close(r)
    assert data == b"through-fd-3\n", p.stderr
    # ls itself opens one fd for the directory it lists.
    assert set(p.stdout.split()) <= {"0", "1", "2", "3", "4"} and "4" not in p.stdout.split()[:4]


def test_hostname_written_before_the_process_runs(hull, bundle):
    b = bundle(["cat", "/proc/sys/kernel/hostname"])
    b.config["hostname"] = "inner"
    b.save()
    assert hull.run(b).stdout.strip() == "inner"


def test_console_socket_receives_the_pty_master(hull, bundle, tmp_path):
    sock_path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    got = {}

    def accept():
        conn, _ = srv.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 16, 1)
        got["fd"] = fds[0]
        conn.close()

    t = threading.Thread(target=accept)
    t.start()
    b = bundle(["sh", "-c", "tty; test -t 0 && echo stdin-is-a-tty; stty size"], terminal=True)
    b.process["consoleSize"] = {"height": 33, "width": 101}
    b.save()
    cid = hull.create(b, None, "--console-socket", sock_path)
    t.join(5)
    master = got["fd"]
    hull.oci("start", cid)
    out = read_to_eof(master)
    os.close(master)
    srv.close()
    text = out.decode().replace("\r", "")
    assert text.splitlines()[:3] == ["/dev/console", "stdin-is-a-tty", "33 101"] or \
        text.splitlines()[0].startswith("/dev/pts/"), text
    assert "stdin-is-a-tty" in text and "33 101" in text
    hull.wait_status(cid, "stopped")
    hull.oci("delete", cid)


def test_terminal_without_console_socket_on_create_is_refused(hull, bundle):
    b = bundle(["true"], terminal=True)
    p = hull.oci("create", "--bundle", b.path, hull.new_id(), check=False)
    assert p.returncode == 1 and "--console-socket is required" in p.stderr
