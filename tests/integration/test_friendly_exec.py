"""`hull exec`: a new process in a running container, with docker's flags and exit codes. The
process must land in the container's namespaces, root and cgroup, never in the host's."""
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

from hulltest import HULL

NAMESPACES = ("pid", "mnt", "uts", "ipc", "net", "cgroup")


def box(friendly, *flags, command="exec sleep 600"):
    """A detached container named box that has written a mark into its own root."""
    cid = friendly.detach("--name", "box", "--hostname", "boxhost", *flags,
                          "host", "sh", "-c", f"echo inside > /tmp/mark; echo READY; {command}")
    friendly.wait_log("box", "READY")
    return cid


def test_exec_joins_the_containers_namespaces_root_and_cgroup(friendly):
    cid = box(friendly)
    init = friendly.pid("box")
    p = friendly("exec", "box", "sh", "-c",
                 "echo $$; hostname; cat /tmp/mark; tr '\\0' ' ' < /proc/1/cmdline; echo; "
                 + "; ".join(f"readlink /proc/self/ns/{n}" for n in NAMESPACES))
    lines = p.stdout.splitlines()
    pid, hostname, mark, pid1 = lines[:4]
    # PID 1 of its PID namespace is the container's sleep; the exec'd shell is another PID in it
    assert int(pid) > 1 and pid1.split() == ["sleep", "600"]
    assert hostname == "boxhost" and mark == "inside"
    for kind, inside in zip(NAMESPACES, lines[4:]):
        assert inside == os.readlink(f"/proc/{init}/ns/{kind}"), kind
        assert inside != os.readlink(f"/proc/self/ns/{kind}"), kind
    assert not Path("/tmp/mark").exists() or Path("/tmp/mark").read_text() != "inside\n"
    # the process is charged to the container's cgroup (-d: it keeps running there)
    friendly("exec", "-d", "box", "sleep", "600")
    procs = friendly.cgroup_dir("pids", cid) / "cgroup.procs"
    wait_for_count = time.time() + 5
    while len(procs.read_text().split()) < 2 and time.time() < wait_for_count:
        time.sleep(0.02)
    pids = [int(x) for x in procs.read_text().split()]
    assert init in pids and len(pids) == 2
    other = next(x for x in pids if x != init)
    assert Path(f"/proc/{other}/cmdline").read_bytes() == b"sleep\x00600\x00"
    friendly("rm", "-f", "box")


def test_env_workdir_and_user(friendly):
    box(friendly, "-e", "FROM_RUN=kept",
        command="echo 'ghost:x:4321:4322:ghost:/ghosthome:/bin/sh' >> /etc/passwd; "
                "echo 'spooks:x:4323:ghost' >> /etc/group; exec sleep 600")
    p = friendly("exec", "-e", "A=1", "-e", "FROM_RUN=changed", "-w", "/tmp", "box",
                 "sh", "-c", "echo $A $FROM_RUN $HOSTNAME; pwd; id -u")
    assert p.stdout.split() == ["1", "changed", "boxhost", "/tmp", "0"]
    # the container's environment is the base
    assert friendly("exec", "box", "printenv", "FROM_RUN").stdout == "kept\n"
    # -u by name: the container's /etc/passwd and /etc/group, not the host's
    p = friendly("exec", "-u", "ghost", "box", "sh", "-c", "id -u; id -g; id -G; echo $HOME")
    assert p.stdout.split() == ["4321", "4322", "4322", "4323", "/ghosthome"]
    assert "ghost:" not in Path("/etc/passwd").read_text()
    p = friendly("exec", "-u", "nobody:4323", "box", "sh", "-c", "id -u; id -g")
    assert p.stdout.split() == ["65534", "4323"]
    p = friendly("exec", "-u", "1234:5678", "box", "sh", "-c", "id -u; id -g; cat /proc/self/status")
    assert p.stdout.split()[:2] == ["1234", "5678"]
    # an unprivileged user gets no capabilities
    assert "CapEff:\t0000000000000000" in p.stdout
    # bad values: one line, hull's code
    p = friendly("exec", "-u", "nosuchuser", "box", "true", check=False)
    assert p.returncode == 125
    assert p.stderr == "hull: -u: no user \"nosuchuser\" in the container's /etc/passwd\n"
    p = friendly("exec", "-w", "tmp", "box", "true", check=False)
    assert p.returncode == 125 and p.stderr == 'hull: -w: "tmp" is not an absolute path\n'
    p = friendly("exec", "-w", "/no/such/dir", "box", "true", check=False)
    assert p.returncode == 125 and len(p.stderr.splitlines()) == 1 and "/no/such/dir" in p.stderr
    friendly("rm", "-f", "box")


def test_exit_codes_0_3_126_127(friendly):
    box(friendly)
    assert friendly("exec", "box", "true", check=False).returncode == 0
    assert friendly("exec", "box", "sh", "-c", "exit 3", check=False).returncode == 3
    p = friendly("exec", "box", "/etc/passwd", check=False)
    assert p.returncode == 126 and len(p.stderr.splitlines()) == 1 and "permission denied" in p.stderr
    p = friendly("exec", "box", "no-such-command", check=False)
    assert p.returncode == 127
    assert p.stderr == 'hull: exec: "no-such-command": executable file not found in $PATH: no such file or directory\n'
    # killed by a signal: 128 + N
    assert friendly("exec", "box", "sh", "-c", "kill -9 $$", check=False).returncode == 137
    friendly("rm", "-f", "box")


def test_exec_into_a_missing_stopped_or_paused_container_fails_in_one_line(friendly):
    p = friendly("exec", "nosuch", "true", check=False)
    assert (p.returncode, p.stdout, p.stderr) == (125, "", "hull: no such container: nosuch\n")
    friendly.run("--name", "done", "host", "true", keep=True)
    p = friendly("exec", "done", "true", check=False)
    assert (p.returncode, p.stderr) == (125, "hull: container done is not running\n")
    box(friendly)
    friendly("pause", "box")
    p = friendly("exec", "box", "true", check=False)
    assert (p.returncode, p.stderr) == (125, "hull: container box is paused: unpause it first\n")
    friendly("unpause", "box")
    # no command: a usage error
    p = friendly("exec", "box", check=False)
    assert p.returncode == 125 and len(p.stderr.splitlines()) == 1
    friendly("rm", "-f", "box", "done")


def test_detach_returns_at_once_and_discards_the_output(friendly):
    box(friendly)
    t = time.time()
    # the detached process goes on only once told to (a fixed sleep could end before a loaded
    # machine looked for /tmp/late)
    p = friendly("exec", "-d", "box", "sh", "-c",
                 "echo lost; until [ -e /tmp/go ]; do sleep 0.05; done; echo late > /tmp/late", timeout=30)
    assert time.time() - t < 10 and p.stdout == "" and p.stderr == ""
    assert friendly("exec", "box", "cat", "/tmp/late", check=False).returncode == 1
    friendly("exec", "box", "touch", "/tmp/go")
    deadline = time.time() + 30
    while friendly("exec", "box", "cat", "/tmp/late", check=False).stdout != "late\n":
        assert time.time() < deadline, "the detached process never finished"
        time.sleep(0.1)
    assert "lost" not in friendly.log("box")
    friendly("rm", "-f", "box")


def test_stdin_only_with_i_and_a_terminal_with_t(friendly):
    box(friendly)
    assert friendly("exec", "box", "cat", input="hello\n").stdout == ""
    assert friendly("exec", "-i", "box", "cat", input="hello\n").stdout == "hello\n"
    p = friendly("exec", "box", "sh", "-c", "tty; echo TERM=$TERM", check=False)
    assert p.stdout == "not a tty\nTERM=\n"
    cmd = " ".join(shlex.quote(str(a)) for a in ["env", f"HULL_STATE={friendly.state}", f"HULL_ROOT={friendly.root}",
                                                  HULL, "exec", "-it", "box",
                                                  "sh", "-c", "tty; test -t 0 && echo is-a-tty; echo $TERM; exit 3"])
    p = subprocess.run(["script", "-eqc", cmd, "/dev/null"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=30)
    assert p.returncode == 3, p
    assert "/dev/pts/" in p.stdout and "is-a-tty" in p.stdout and "xterm" in p.stdout
    p = friendly("exec", "-d", "-t", "box", "true", check=False)
    assert p.returncode == 125 and len(p.stderr.splitlines()) == 1
    friendly("rm", "-f", "box")


def test_a_host_file_or_terminal_given_as_stdio_is_never_the_containers_to_reopen(friendly, tmp_path):
    # Through /proc/self/fd/N a process reopens the file behind an fd with any mode its
    # permissions allow: the container's root must not read, truncate or write the host's
    # file that `> file` or `< file` names, only get the bytes (docker copies the streams too).
    box(friendly)
    probe = ("for n in 0 1 2; do if [ -p /proc/$$/fd/$n ] || [ \"$(readlink /proc/$$/fd/$n)\" = /dev/null ]; "
             "then echo fd$n-ok >&2; else echo fd$n-host >&2; fi; done; "
             "timeout 1 cat /proc/$$/fd/1 2>/dev/null | grep -c SECRET >&2; "
             ": 2>/dev/null > /proc/$$/fd/1; "
             "echo written; cat; echo injected 2>/dev/null > /proc/$$/fd/0")
    out, inp = tmp_path / "out", tmp_path / "in"
    for cmd in (["exec", "-i", "box"], ["run", "--rm", "-i", "--network", "none", "host"]):
        out.write_text("SECRET host line\n")
        inp.write_text("from the host\n")
        with open(out, "a") as o, open(inp) as i:
            p = subprocess.run([str(HULL), *cmd, "sh", "-c", probe], stdin=i, stdout=o, stderr=subprocess.PIPE,
                               text=True, env=friendly.env, timeout=60)
        assert p.returncode == 0, p.stderr
        # pipes inside, the secret unread, nothing truncated, stdin delivered and not written to
        assert p.stderr.splitlines() == ["fd0-ok", "fd1-ok", "fd2-ok", "0"], (cmd, p.stderr)
        assert out.read_text() == "SECRET host line\nwritten\nfrom the host\n", cmd
        assert inp.read_text() == "from the host\n", cmd
    # A pipe goes through as it is: the container writes into the caller's own pipe.
    p = subprocess.Popen([str(HULL), "exec", "box", "stat", "-L", "-c", "%i", "/proc/self/fd/1"],
                         stdout=subprocess.PIPE, text=True, env=friendly.env)
    ino = os.fstat(p.stdout.fileno()).st_ino
    assert int(p.stdout.read()) == ino and p.wait(timeout=30) == 0
    friendly("rm", "-f", "box")


def test_exec_tty_in_a_private_user_namespace_belongs_to_the_containers_root(friendly):
    # Issue 15 item 14: the pty of `exec -t` is the container's root's, as run -t's is (0:0
    # inside), not the host's root, which the namespace does not map (65534 inside).
    def in_terminal(*args):
        cmd = " ".join(shlex.quote(str(a)) for a in ["env", f"HULL_STATE={friendly.state}",
                                                      f"HULL_ROOT={friendly.root}", HULL, *args])
        p = subprocess.run(["script", "-eqc", cmd, "/dev/null"], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=30)
        assert p.returncode == 3, p
        return [l.strip() for l in p.stdout.splitlines() if l.startswith("owner=")]

    script = "stat -c owner=%u:%g $(tty); exit 3"
    box(friendly, "--userns", "private")
    assert in_terminal("exec", "-t", "box", "sh", "-c", script) == ["owner=0:0"]
    assert in_terminal("exec", "-t", "-u", "65534", "box", "sh", "-c", script) == ["owner=65534:0"]
    friendly("rm", "-f", "box")
    assert in_terminal("run", "--rm", "-t", "--userns", "private", "host", "sh", "-c", script) == ["owner=0:0"]


def test_user_groups_replace_the_containers(friendly, base_rootfs, tmp_path):
    import shutil
    root = tmp_path / "rootfs"
    shutil.copytree(base_rootfs, root, symlinks=True)
    with open(root / "etc" / "passwd", "a") as f:
        f.write("ghost:x:4321:4322::/:/bin/sh\n")
    with open(root / "etc" / "group", "a") as f:
        f.write("spooks:x:4323:ghost\n")
    friendly.detach("--name", "box", "--rootfs", root, "-u", "ghost", "sleep", "600")
    # the container's process, and so an exec without -u, has ghost's groups
    assert friendly("exec", "box", "id", "-G").stdout.split() == ["4322", "4323"]
    # another user keeps none of them: a uid without an entry gets group 0 and nothing else
    assert friendly("exec", "-u", "1234", "box", "id", "-G").stdout.split() == ["0"]
    assert friendly("exec", "-u", "root", "box", "id", "-G").stdout.split() == ["0"]
    friendly("rm", "-f", "box")


def test_user_lookup_never_follows_a_symlink_out_of_the_container(friendly, base_rootfs, tmp_path):
    import shutil
    root = tmp_path / "rootfs"
    shutil.copytree(base_rootfs, root, symlinks=True)
    host_passwd = tmp_path / "host-passwd"
    host_passwd.write_text("evil:x:999:999::/:/bin/sh\n")
    # inside, /etc/passwd points at a path that only exists on the host
    (root / "etc" / "passwd").unlink()
    (root / "etc" / "passwd").symlink_to(host_passwd)
    friendly.detach("--name", "box", "--rootfs", root, "sleep", "600")
    p = friendly("exec", "-u", "evil", "box", "id", "-u", check=False)
    assert (p.returncode, p.stdout) == (125, "")
    assert p.stderr == "hull: -u: no user \"evil\" in the container's /etc/passwd\n"
    friendly("rm", "-f", "box")


def test_signals_go_to_the_process(friendly):
    box(friendly)
    p = subprocess.Popen([str(HULL), "exec", "box", "sh", "-c",
                          "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done"],
                         env=friendly.env, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 42
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    friendly("rm", "-f", "box")


def test_exec_in_a_private_user_namespace(friendly):
    box(friendly, "--userns", "private")
    init = friendly.pid("box")
    p = friendly("exec", "box", "sh", "-c", "id -u; readlink /proc/self/ns/user")
    uid, userns = p.stdout.split()
    assert uid == "0" and userns == os.readlink(f"/proc/{init}/ns/user") != os.readlink("/proc/self/ns/user")
    # root inside is the init's unprivileged uid outside
    p = subprocess.Popen([str(HULL), "exec", "box", "sh", "-c", "echo ready; exec sleep 30"], env=friendly.env,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        procs = (friendly.cgroup_dir("pids", friendly.inspect("box")["id"]) / "cgroup.procs").read_text().split()
        other = next(int(x) for x in procs if int(x) != init)
        host_uid = Path(f"/proc/{other}/status").read_text().split("Uid:")[1].split()[0]
        assert host_uid == Path(f"/proc/{init}/status").read_text().split("Uid:")[1].split()[0] != "0"
    finally:
        p.kill()
        p.wait()
    friendly("rm", "-f", "box")
