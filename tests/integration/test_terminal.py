"""Terminals: a pty whose master goes over --console-socket (create and exec, as podman/conmon
and the containerd shim use it), and hull's own relay in the foreground (run, exec -t)."""
import fcntl
import json
import os
import select
import signal
import socket
import struct
import subprocess
import termios
import time

import pytest

from hulltest import HULL_OCI, userns_bundle, wait_for


def listen(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.listen(4)
    return s


def receive_master(sock):
    sock.settimeout(10)
    conn, _ = sock.accept()
    with conn:
        _, fds, _, _ = socket.recv_fds(conn, 1, 1)
    assert len(fds) == 1
    return fds[0]


def exec_on_console(hull, tmp_path, cid, proc, sock):
    """hull-oci exec --detach of the process PROC (a config.json process) with its terminal sent
    to the console socket SOCK listens on; returns the pty master."""
    (tmp_path / "p.json").write_text(json.dumps(proc))
    pidfile = tmp_path / "exec.pid"
    hull.oci("exec", "--detach", "--console-socket", tmp_path / "exec.sock", "--pid-file", pidfile,
             "--process", tmp_path / "p.json", cid)
    hull.pids.add(int(pidfile.read_text()))
    return receive_master(sock)


def read_until(fd, want, timeout=30):
    buf = b""
    deadline = time.time() + timeout
    while want.encode() not in buf:
        left = deadline - time.time()
        if left <= 0:
            raise AssertionError(f"never saw {want!r}; got {buf!r}")
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    assert want.encode() in buf, buf
    return buf.decode(errors="replace")


def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def winsize(path):
    """(rows, cols) of a terminal, opened by path (a container's /proc/PID/fd/0)."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        return struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))[:2]
    finally:
        os.close(fd)


def script_process(init, args):
    """The host pid of the process running args in the PID namespace of init."""
    want = ("\0".join(args) + "\0").encode()
    ns = os.readlink(f"/proc/{init}/ns/pid")
    for d in os.listdir("/proc"):
        try:
            if d.isdigit() and open(f"/proc/{d}/cmdline", "rb").read() == want and \
                    os.readlink(f"/proc/{d}/ns/pid") == ns:
                return int(d)
        except OSError:
            pass
    raise AssertionError(f"no {args} in the PID namespace of {init}")


def test_create_sends_the_pty_master_over_the_console_socket(hull, bundle, tmp_path):
    b = bundle(["sh", "-c", "tty; stty size; echo controlling=$(cut -d' ' -f7 /proc/self/stat); echo done"],
               terminal=True)
    b.process["consoleSize"] = {"height": 30, "width": 100}
    b.save()
    sock = listen(tmp_path / "console.sock")
    cid = hull.create(b, None, "--console-socket", tmp_path / "console.sock")
    master = receive_master(sock)
    try:
        hull.oci("start", cid)
        out = read_until(master, "done")
        lines = [l.strip() for l in out.split("\n")]
        assert lines[0] == "/dev/pts/0"
        assert lines[1] == "30 100"
        assert lines[2] != "controlling=0"  # tty_nr: the pty is its controlling terminal
    finally:
        os.close(master)
        sock.close()
    hull.wait_status(cid, "stopped")
    hull.oci("delete", cid)


def test_console_socket_needs_a_terminal_and_a_terminal_needs_a_socket(hull, bundle, tmp_path):
    b = bundle(["true"])
    sock = listen(tmp_path / "c.sock")
    p = hull.oci("create", "--bundle", b.path, "--console-socket", tmp_path / "c.sock", hull.new_id(), check=False)
    assert p.returncode == 1 and "process.terminal is false" in p.stderr
    b = bundle(["true"], terminal=True)
    p = hull.oci("create", "--bundle", b.path, hull.new_id(), check=False)
    assert p.returncode == 1 and "--console-socket is required" in p.stderr
    sock.close()


def test_exec_tty_sends_the_master_over_the_console_socket(hull, bundle, tmp_path):
    b = bundle(["sleep", "1000"])
    cid = hull.create(b)
    hull.oci("start", cid)
    sock = listen(tmp_path / "exec.sock")
    proc = {"args": ["sh", "-c", "tty; stty size; echo done; sleep 100"], "cwd": "/", "terminal": True,
            "consoleSize": {"height": 25, "width": 90}, "env": ["PATH=/bin"]}
    master = exec_on_console(hull, tmp_path, cid, proc, sock)
    try:
        out = read_until(master, "done")
        lines = [l.strip() for l in out.split("\n")]
        assert lines[0].startswith("/dev/pts/") and lines[1] == "25 90"
    finally:
        os.close(master)
        sock.close()
    p = hull.oci("exec", "-t", "-d", cid, "true", check=False)
    assert p.returncode == 255 and "needs --console-socket" in p.stderr
    hull.oci("delete", "--force", cid)


def test_exec_tty_in_a_user_namespace_is_owned_by_the_containers_root(hull, bundle, tmp_path):
    # As create's: the pty is made by the container's root, so on the host it belongs to the
    # id root maps to (100000), inside to 0 — not to the host's root, unmapped there.
    b = userns_bundle(bundle, ["sleep", "1000"])
    cid = hull.create(b)
    hull.oci("start", cid)
    init = hull.state(cid)["pid"]
    sock = listen(tmp_path / "exec.sock")
    proc = {"args": ["sh", "-c", "echo tty=$(tty); stat -c owner=%u:%g $(tty); echo done; sleep 100"], "cwd": "/",
            "terminal": True, "env": ["PATH=/bin"]}
    master = exec_on_console(hull, tmp_path, cid, proc, sock)
    try:
        out = read_until(master, "done")
        lines = {l.split("=")[0]: l.split("=")[1] for l in (x.strip() for x in out.split("\n")) if "=" in l}
        # the spec's devpts has gid=5: the group is tty's, as for run -t
        assert lines["owner"] == "0:5", out
        st = os.stat(f"/proc/{init}/root{lines['tty']}")
        assert (st.st_uid, st.st_gid) == (100000, 100005)
    finally:
        os.close(master)
        sock.close()
    hull.oci("delete", "--force", cid)


def foreground(cmd, rows=40, cols=120):
    """Runs cmd with a pty as its stdio, as from an interactive shell."""
    master, slave = os.openpty()
    set_winsize(slave, rows, cols)
    before = termios.tcgetattr(slave)
    p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    return p, master, slave, before


@pytest.mark.parametrize("verb", ["run", "exec"])
def test_foreground_relay_raw_mode_window_size_and_restore(hull, bundle, verb):
    script = "stty size; tty; read x; stty size; echo got $x; exit 5"
    if verb == "run":
        b = bundle(["sh", "-c", script], terminal=True)
        cid = hull.new_id()
        cmd = [str(HULL_OCI), "--root", str(hull.root), "run", "--bundle", str(b.path), cid]
    else:
        b = bundle(["sleep", "1000"])
        cid = hull.create(b)
        hull.oci("start", cid)
        cmd = [str(HULL_OCI), "--root", str(hull.root), "exec", "-t", cid, "sh", "-c", script]
    p, master, slave, before = foreground(cmd)
    try:
        read_until(master, "40 120")
        # While the relay runs, hull's side of the terminal is raw: no echo, no line editing.
        deadline = time.time() + 30
        while termios.tcgetattr(slave)[3] & termios.ICANON and time.time() < deadline:
            time.sleep(0.02)
        assert not termios.tcgetattr(slave)[3] & termios.ECHO
        set_winsize(slave, 50, 150)
        p.send_signal(signal.SIGWINCH)
        # the container's terminal has the new size before the shell reads its line
        inner = script_process(hull.state(cid)["pid"], ["sh", "-c", script])
        wait_for(lambda: winsize(f"/proc/{inner}/fd/0") == (50, 150), "the new size in the container")
        os.write(master, b"hello\r")
        out = read_until(master, "got hello")
        assert "50 150" in out
        assert p.wait(30) == 5
        assert termios.tcgetattr(slave) == before
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
        os.close(slave)
        if verb == "exec":
            hull.oci("delete", "--force", cid)
