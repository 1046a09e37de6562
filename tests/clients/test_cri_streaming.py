"""Kubernetes' streaming paths through containerd's CRI plugin: `kubectl exec -it` (CRI Exec with
tty and stdin), `kubectl exec` without a tty, `kubectl attach` (Attach) and `kubectl
port-forward` (PortForward). CRI returns a URL of containerd's streaming server; the tests
speak Kubernetes' remotecommand and portforward protocols to it (cri/stream.py) as kubelet's
clients do, over both transports: a WebSocket and SPDY/3.1. Same node fixtures as test_cri.py:
hull, and runc to show the suite asks only what runc does; nothing may be left after each case."""
import re
import time

import pytest

from cri.stream import ERROR, RESIZE, SPDY, STDERR, STDIN, STDOUT, WebSocket, remotecommand_streams
from test_cri import container_config, node, pause_archive, pods, run_pod, start, status, wait_state  # noqa: F401

TTY = {STDIN, STDOUT, RESIZE}
PIPES = {STDIN, STDOUT, STDERR}


@pytest.fixture(params=["websocket", "spdy"])
def transport(request):
    return request.param


def stream(node, transport, url, channels):
    """A remotecommand session on `url` with the channels the request asked for."""
    if transport == "websocket":
        return WebSocket(node.daemon.proc.pid, url)
    return SPDY(node.daemon.proc.pid, url, remotecommand_streams(channels))


def lines(text):
    return [line.strip() for line in re.split(r"\r?\n", text)]


def running_app(node, name, **config):
    pod_id, pod_cfg = run_pod(node, name)
    cfg = container_config(node, "app", config.pop("command", ["sleep", "1000"]))
    for k, v in config.items():
        setattr(cfg, k, v)
    return pod_id, start(node, pod_id, pod_cfg, cfg)


def wait_for_process(node, cid, args, timeout=30):
    """Until a process with exactly these arguments runs in the container."""
    deadline = time.time() + timeout
    while args not in node("ExecSync", container_id=cid, cmd=["ps", "-o", "args"],
                           timeout=20).stdout.decode().splitlines():
        assert time.time() < deadline, f"`{args}` never ran in {cid}"
        time.sleep(0.05)


def remove_pod(node, pod_id):
    node("StopPodSandbox", pod_sandbox_id=pod_id)
    node("RemovePodSandbox", pod_sandbox_id=pod_id)


def test_exec_with_tty_and_stdin_as_kubectl_exec_it(pods, transport):
    node = pods
    pod_id, app = running_app(node, "exec-tty")
    url = node("Exec", container_id=app, cmd=["sh"], tty=True, stdin=True, stdout=True, stderr=False).url
    ws = stream(node, transport, url, TTY)
    try:
        assert ws.protocol == "v4.channel.k8s.io"
        ws.resize(100, 30)
        ws.send(STDIN, "stty size\n")
        ws.wait(lambda s: "30 100" in lines(s.text(STDOUT)), what="`stty size` of 30 rows, 100 columns")
        # The terminal is the shell's controlling one: ^C interrupts its foreground job.
        ws.send(STDIN, "sleep 100; echo slept\n")
        wait_for_process(node, app, "sleep 100")
        ws.send(STDIN, "\x03")
        ws.send(STDIN, "echo after-$((40+2))\n")
        ws.wait(lambda s: "after-42" in lines(s.text(STDOUT)), timeout=30, what="the shell back after ^C")
        assert "slept" not in lines(ws.text(STDOUT))
        ws.resize(120, 40)  # a resize while it runs reaches the process's terminal
        # Output written just before the exit arrives whole.
        ws.send(STDIN, "stty size; echo h''i; tty; head -c 100000 /dev/zero | tr '\\0' x; echo; exit 5\n")
        ws.drain()
    finally:
        ws.close()
    out = lines(ws.text(STDOUT))
    assert "40 120" in out and "hi" in out and "x" * 100000 in out, [line[:80] for line in out]
    assert any(re.fullmatch(r"/dev/pts/\d+", line) for line in out), [line[:80] for line in out]
    st = ws.status()
    assert st and st["status"] == "Failure" and st["reason"] == "NonZeroExitCode", st
    assert {"reason": "ExitCode", "message": "5"} in st["details"]["causes"], st
    assert not ws.received.get(STDERR)
    remove_pod(node, pod_id)


def test_exec_without_tty_keeps_stdout_and_stderr_apart(pods, transport):
    node = pods
    pod_id, app = running_app(node, "exec-pipes")
    script = "echo to-out; echo to-err >&2; exec cat"
    url = node("Exec", container_id=app, cmd=["sh", "-c", script], stdin=True, stdout=True, stderr=True).url
    ws = stream(node, transport, url, PIPES)
    try:
        ws.send(STDIN, "through-cat\n")
        ws.wait(lambda s: "through-cat" in s.text(STDOUT) and "to-err" in s.text(STDERR), what="stdout and stderr")
        if ws.half_close:  # SPDY: stdin's FIN is cat's EOF; cat ends, and so does the session
            ws.send(STDIN, "last-line\n")
            ws.close_stdin()
            ws.drain()
            assert ws.status() == {"metadata": {}, "status": "Success"}, ws.received
            assert {STDOUT, STDERR, ERROR} <= ws.ended, ws.ended  # each stream closed with its FIN
    finally:
        ws.close()  # v4 over a WebSocket has no half-close: the end of the connection is stdin's EOF
    assert lines(ws.text(STDOUT))[:2] == ["to-out", "through-cat"], ws.text(STDOUT)
    if ws.half_close:
        assert ws.text(STDOUT) == "to-out\nthrough-cat\nlast-line\n", ws.text(STDOUT)
    assert lines(ws.text(STDERR))[0] == "to-err" and "to-out" not in ws.text(STDERR), ws.text(STDERR)
    # cat saw EOF and ended: nothing but the app's sleep runs in the container.
    deadline = time.time() + 30
    while True:
        ps = node("ExecSync", container_id=app, cmd=["ps", "-o", "comm"], timeout=20).stdout.decode().split()
        if "cat" not in ps or time.time() > deadline:
            break
        time.sleep(0.1)
    assert "cat" not in ps, ps
    # Without stdin, the exec's own end closes the stream with a Success status.
    url = node("Exec", container_id=app, cmd=["sh", "-c", "echo done"], stdout=True, stderr=True).url
    ws = stream(node, transport, url, {STDOUT, STDERR})
    try:
        ws.drain()
    finally:
        ws.close()
    assert ws.text(STDOUT) == "done\n" and ws.status() == {"metadata": {}, "status": "Success"}, ws.received
    remove_pod(node, pod_id)


def test_attach_to_a_shell_with_stdin_and_tty_as_kubectl_attach(pods, transport):
    node, pb = pods, pods.pb
    pod_id, app = running_app(node, "attach", command=["sh"], stdin=True, stdin_once=True, tty=True)
    url = node("Attach", container_id=app, stdin=True, tty=True, stdout=True, stderr=False).url
    ws = stream(node, transport, url, TTY)
    try:
        ws.send(STDIN, "echo attached-$((6*7))\n")
        ws.wait(lambda s: "attached-42" in lines(s.text(STDOUT)), what="the shell's answer")
        # A resize reaches the terminal the runtime handed the shim at create (--console-socket).
        ws.resize(90, 33)
        ws.send(STDIN, "stty size\n")
        ws.wait(lambda s: "33 90" in lines(s.text(STDOUT)), what="`stty size` of 33 rows, 90 columns")
        ws.send(STDIN, "exit 3\n")
        ws.drain()
    finally:
        ws.close()
    st = wait_state(node, app, pb.CONTAINER_EXITED)
    assert st.exit_code == 3, st
    assert status(node, app).status.state == pb.CONTAINER_EXITED
    remove_pod(node, pod_id)


def test_port_forward_to_a_port_the_pod_listens_on(pods, transport):
    node = pods
    pod_id, app = running_app(node, "forward", command=["nc", "-l", "-p", "8080", "-e", "cat"])
    deadline = time.time() + 30  # listening on 8080 (0x1F90: state 0A), on IPv4 or IPv6
    while not re.search(r":1F90 0+:0000 0A", node("ExecSync", container_id=app, timeout=20,
                                                  cmd=["cat", "/proc/net/tcp", "/proc/net/tcp6"]).stdout.decode()):
        assert time.time() < deadline, "nc never listened on 8080"
        time.sleep(0.1)
    url = node("PortForward", pod_sandbox_id=pod_id, port=[8080]).url
    if transport == "websocket":  # the port as a query parameter; each channel begins with it
        ws = WebSocket(node.daemon.proc.pid, url + "?port=8080")
        skip = 2
    else:  # a pair of streams per port and request, error first, as kubectl opens them
        pair = [("port", "8080"), ("requestid", "0")]
        ws = SPDY(node.daemon.proc.pid, url, [(1, [("streamtype", "error")] + pair),
                                              (0, [("streamtype", "data")] + pair)], protocol="portforward.k8s.io")
        skip = 0
    try:
        assert ws.protocol == "portforward.k8s.io" if transport == "spdy" else True
        if skip:
            ws.wait(lambda s: len(s.received.get(0, b"")) >= 2 and len(s.received.get(1, b"")) >= 2,
                    what="the port on the data and error channels")
            assert bytes(ws.received[0][:2]) == bytes(ws.received[1][:2]) == (8080).to_bytes(2, "little")
        ws.send(0, "round trip\n")  # the data channel of the first port
        ws.wait(lambda s: bytes(s.received.get(0, b"")[skip:]) == b"round trip\n",
                what="the echo through the pod's port")
    finally:
        ws.close()
    assert bytes(ws.received.get(1, b"")[skip:]) == b"", ws.received
    remove_pod(node, pod_id)


def test_exec_of_a_missing_command_reports_it_and_leaves_nothing(pods, transport):
    node = pods
    pod_id, app = running_app(node, "exec-missing")
    for tty in (True, False):
        url = node("Exec", container_id=app, cmd=["no-such-command"], tty=tty, stdin=True, stdout=True,
                   stderr=not tty).url
        ws = stream(node, transport, url, TTY if tty else PIPES)
        try:
            ws.drain()
        finally:
            ws.close()
        st = ws.status()
        assert st and st["status"] == "Failure", (tty, st)
        # runc's words, which kubectl users see (and some scripts match)
        assert 'exec: "no-such-command": executable file not found in $PATH' in st["message"], (tty, st)
    # The container runs on, and exec still works.
    r = node("ExecSync", container_id=app, cmd=["echo", "still"], timeout=20)
    assert (r.stdout, r.exit_code) == (b"still\n", 0)
    remove_pod(node, pod_id)


def test_attach_without_tty_keeps_stdout_and_stderr_apart(pods, transport):
    node, pb = pods, pods.pb
    script = "read line; echo out-$line; echo err-$line >&2; exit 4"
    pod_id, app = running_app(node, "attach-pipes", command=["sh", "-c", script], stdin=True, stdin_once=True)
    url = node("Attach", container_id=app, stdin=True, stdout=True, stderr=True).url
    ws = stream(node, transport, url, PIPES)
    try:
        ws.send(STDIN, "x\n")
        ws.wait(lambda s: "out-x" in s.text(STDOUT) and "err-x" in s.text(STDERR), what="stdout and stderr")
        ws.drain()
    finally:
        ws.close()
    assert (ws.text(STDOUT), ws.text(STDERR)) == ("out-x\n", "err-x\n"), ws.received
    assert wait_state(node, app, pb.CONTAINER_EXITED).exit_code == 4
    remove_pod(node, pod_id)


def test_concurrent_terminal_sessions_each_get_their_own(pods):
    node = pods
    pod_id, app = running_app(node, "exec-many")
    sessions = []
    try:
        for i in range(4):
            url = node("Exec", container_id=app, cmd=["sh"], tty=True, stdin=True, stdout=True).url
            sessions.append(stream(node, "spdy", url, TTY))
        for i, ws in enumerate(sessions):
            ws.send(STDIN, f"echo id-$((100+{i})); tty; exit {i}\n")
        for ws in sessions:
            ws.drain()
    finally:
        for ws in sessions:
            ws.close()
    ttys = set()
    for i, ws in enumerate(sessions):
        out = lines(ws.text(STDOUT))
        assert f"id-{100 + i}" in out, out
        ttys |= {line for line in out if re.fullmatch(r"/dev/pts/\d+", line)}
        st = ws.status()
        assert st["status"] == ("Success" if i == 0 else "Failure"), st
        if i:
            assert {"reason": "ExitCode", "message": str(i)} in st["details"]["causes"], st
    assert len(ttys) == 4, ttys
    remove_pod(node, pod_id)


def test_stopping_the_container_ends_a_live_terminal_session(pods):
    """kubectl exec -it into a container of a pod sharing its PID namespace (the shim's kill
    --all path), and the container stopped under it: the exec'd shell dies with it (SIGKILL, 137),
    the session ends, and nothing is left."""
    node, pb = pods, pods.pb
    pod_id, pod_cfg = run_pod(node, "exec-stop")
    app = start(node, pod_id, pod_cfg, container_config(node, "app", ["sleep", "1000"], pid_mode=pb.POD))
    url = node("Exec", container_id=app, cmd=["sh"], tty=True, stdin=True, stdout=True).url
    ws = stream(node, "spdy", url, TTY)
    try:
        ws.send(STDIN, "echo in-$((1+1)); sleep 1000\n")
        ws.wait(lambda s: "in-2" in lines(s.text(STDOUT)), what="the shell's answer")
        node("StopContainer", container_id=app, timeout=2)
        ws.drain()
    finally:
        ws.close()
    st = ws.status()
    assert st and st["reason"] == "NonZeroExitCode", st
    assert {"reason": "ExitCode", "message": "137"} in st["details"]["causes"], st  # SIGKILL
    assert status(node, app).status.state == pb.CONTAINER_EXITED
    remove_pod(node, pod_id)


def test_exec_it_as_a_non_root_user_owns_its_terminal(pods):
    """runAsUser: the exec'd shell runs as that user on a terminal it owns (mode 620, group tty
    as devpts' gid=5 gives it), so that the user's own tools (stty, mesg) work on it."""
    node = pods
    pod_id, pod_cfg = run_pod(node, "exec-user")
    cfg = container_config(node, "app", ["sleep", "1000"])
    cfg.linux.security_context.run_as_user.value = 1000
    app = start(node, pod_id, pod_cfg, cfg)
    url = node("Exec", container_id=app, cmd=["sh"], tty=True, stdin=True, stdout=True).url
    ws = stream(node, "spdy", url, TTY)
    try:
        ws.send(STDIN, 'id -u; stat -c "%a %u %g" $(tty); stty rows 21 cols 77; stty size; exit\n')
        ws.drain()
    finally:
        ws.close()
    out = lines(ws.text(STDOUT))
    assert "1000" in out and "620 1000 5" in out and "21 77" in out, out
    assert ws.status() == {"metadata": {}, "status": "Success"}, ws.received
    remove_pod(node, pod_id)
