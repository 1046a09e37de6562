"""Rootless: hull run by an unprivileged user makes a user namespace in which the container's
root is that user. A user made by the test (removed after) runs `hull-oci spec --rootless`
and `hull-oci run`; from the host, what the container wrote belongs to that user."""
import contextlib
import fcntl
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from hulltest import HULL_OCI, read_to_eof

F_GET_SEALS = 1034  # fcntl.F_GET_SEALS from Python 3.12 on
F_SEAL_WRITE = 8

# useradd/userdel and the /etc/subuid rewrite are host-wide: one worker runs these in turn
# when the suite runs in parallel (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("host-users")


@pytest.fixture
def user():
    name = "hull" + uuid.uuid4().hex[:8]
    # No subordinate ids unless a test grants them (useradd hands out a range by default).
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/false", "--user-group",
                    "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name], check=True)
    yield pwd.getpwnam(name)
    subprocess.run(["userdel", name], check=False)


@pytest.fixture
def home(user):
    """A directory of the user's own, outside the test's root-only tmp_path."""
    d = Path(f"/tmp/hull-rootless-{uuid.uuid4().hex[:8]}")
    d.mkdir(mode=0o700)
    os.chown(d, user.pw_uid, user.pw_gid)
    yield d
    with open("/proc/self/mountinfo") as f:
        left = [line.split()[4] for line in f if line.split()[4].startswith(str(d))]
    shutil.rmtree(d)
    assert not left, f"mounts left behind: {left}"


def as_user(user, *cmd, cwd=None, detached=False):
    """Runs cmd as the user. detached: the command leaves a process holding its stdio (run -d),
    so stdout is not captured (nobody would close the pipe)."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/"}
    argv = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--", *map(str, cmd)]
    if detached:
        with tempfile.TemporaryFile("w+") as err:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, text=True,
                               env=env, cwd=cwd, timeout=60)
            err.seek(0)
            return subprocess.CompletedProcess(argv, p.returncode, "", err.read())
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=60)


def rootless_bundle(user, home, base_rootfs, args):
    b = home / "bundle"
    b.mkdir()
    os.chown(b, user.pw_uid, user.pw_gid)
    shutil.copytree(base_rootfs, b / "rootfs", symlinks=True)
    p = as_user(user, HULL_OCI, "spec", "--rootless", "--bundle", b)
    assert p.returncode == 0, p.stderr
    config = json.loads((b / "config.json").read_text())
    config["process"]["terminal"] = False
    config["process"]["args"] = args
    config["root"]["readonly"] = False
    (b / "config.json").write_text(json.dumps(config))
    return b, config


def test_rootless_container_is_root_inside_and_the_user_outside(hull, user, home, base_rootfs):
    script = "id -u; cat /proc/self/uid_map; touch /tmp/made-inside"
    b, config = rootless_bundle(user, home, base_rootfs, ["sh", "-c", script])
    assert config["linux"]["uidMappings"] == [{"containerID": 0, "hostID": user.pw_uid, "size": 1}]
    cid = hull.new_id()
    p = as_user(user, HULL_OCI, "--root", home / "state", "run", "--bundle", b, cid)
    assert p.returncode == 0, p.stderr
    out = p.stdout.split()
    assert out[0] == "0" and out[1:] == ["0", str(user.pw_uid), "1"], p.stdout
    made = b / "rootfs" / "tmp" / "made-inside"
    assert made.stat().st_uid == user.pw_uid and made.stat().st_gid == user.pw_gid
    # No cgroup is delegated to this user here: exactly one warning says so.
    warnings = [l for l in p.stderr.splitlines() if "cgroup" in l]
    assert len(warnings) == 1 and "not delegated" in warnings[0], p.stderr
    assert list((home / "state").iterdir()) == [] or all(x.name.startswith(".") for x in (home / "state").iterdir())


def test_rootless_default_state_root_is_the_users_own(hull, user, home, base_rootfs):
    b, _ = rootless_bundle(user, home, base_rootfs, ["true"])
    cid = hull.new_id()
    # No XDG_RUNTIME_DIR in as_user's environment: /tmp/hull-UID, made 0700 for the user.
    root = Path(f"/tmp/hull-{user.pw_uid}")
    try:
        p = as_user(user, HULL_OCI, "run", "--bundle", b, cid)
        assert p.returncode == 0, p.stderr
        st = root.stat()
        assert st.st_uid == user.pw_uid and st.st_mode & 0o777 == 0o700
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_rootless_refuses_a_state_root_someone_else_owns(hull, user, home, base_rootfs):
    b, _ = rootless_bundle(user, home, base_rootfs, ["true"])
    planted = home / "planted"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)  # the umask trimmed mkdir's mode
    p = as_user(user, HULL_OCI, "--root", planted, "run", "--bundle", b, hull.new_id())
    assert p.returncode == 1
    assert f"state root {planted} is not a directory of uid {user.pw_uid} alone" in p.stderr


@pytest.fixture
def subids(user):
    """Grants the user 65536 subordinate uids and gids, as an administrator would."""
    start = 2000000 + (user.pw_uid % 1000) * 65536
    saved = {}
    for f in ("/etc/subuid", "/etc/subgid"):
        path = Path(f)
        saved[f] = path.read_text() if path.exists() else None
        path.write_text((saved[f] or "") + f"{user.pw_name}:{start}:65536\n")
    yield start
    for f, text in saved.items():
        if text is None:
            Path(f).unlink()
        else:
            Path(f).write_text(text)


def test_rootless_with_subordinate_ids_maps_several_ranges(hull, user, home, base_rootfs, subids):
    script = "cat /proc/self/uid_map /proc/self/gid_map; touch /tmp/f && chown 1000:1000 /tmp/f && echo chowned"
    b, config = rootless_bundle(user, home, base_rootfs, ["sh", "-c", script])
    # spec --rootless saw the grant: the container gets 65536 more ids through newuidmap.
    assert config["linux"]["uidMappings"][1] == {"containerID": 1, "hostID": subids, "size": 65536}
    # The spec's capabilities are runc's three (no CAP_CHOWN): the chown below needs it.
    for s in ("bounding", "effective", "permitted"):
        config["process"]["capabilities"][s].append("CAP_CHOWN")
    (b / "config.json").write_text(json.dumps(config))
    p = as_user(user, HULL_OCI, "--root", home / "state", "run", "--bundle", b, hull.new_id())
    assert p.returncode == 0, p.stderr
    lines = [l.split() for l in p.stdout.splitlines()]
    assert lines[:2] == [["0", str(user.pw_uid), "1"], ["1", str(subids), "65536"]], p.stdout
    assert lines[-1] == ["chowned"]
    f = b / "rootfs" / "tmp" / "f"
    assert f.stat().st_uid == subids + 999 and f.stat().st_gid == subids + 999


@contextlib.contextmanager
def running_as(user, home, b, cid):
    """The bundle B run detached as USER (state under HOME/state, yielded), deleted afterwards."""
    state = home / "state"
    p = as_user(user, HULL_OCI, "--root", state, "run", "-d", "--bundle", b, cid, detached=True)
    assert p.returncode == 0, p.stderr
    try:
        yield state
    finally:
        p = as_user(user, HULL_OCI, "--root", state, "delete", "--force", cid)
        assert p.returncode == 0, p.stderr


def test_rootless_exec_knows_the_container_has_no_cgroup(hull, user, home, base_rootfs):
    # Without delegation the container has no cgroup: exec must not look for /hull/<id>.
    b, _ = rootless_bundle(user, home, base_rootfs, ["sleep", "1000"])
    cid = hull.new_id()
    with running_as(user, home, b, cid) as state:
        p = as_user(user, HULL_OCI, "--root", state, "exec", "--cgroup", "sub", cid, "true")
        assert p.returncode != 0, p.stderr
        assert p.stderr.strip().endswith(f"--cgroup: container {cid} runs without a cgroup"), p.stderr


NAMESPACES = ("user", "pid", "mnt", "ipc", "uts", "net", "cgroup")


def test_rootless_exec_joins_the_user_namespace_first_then_every_other(hull, user, home, base_rootfs):
    # Issue 15 item 14: unprivileged, the PID namespace can only be joined from inside the
    # container's user namespace. The exec'd process is root inside, the user outside, in
    # each of the init's namespaces, and its exit code comes back.
    b, _ = rootless_bundle(user, home, base_rootfs, ["sleep", "1000"])
    cid = hull.new_id()
    with running_as(user, home, b, cid) as state:
        init = json.loads(as_user(user, HULL_OCI, "--root", state, "state", cid).stdout)["pid"]
        script = "id -u; echo $$; " + "; ".join(f"readlink /proc/self/ns/{n}" for n in NAMESPACES) + "; exit 7"
        p = as_user(user, HULL_OCI, "--root", state, "exec", cid, "sh", "-c", script)
        assert p.returncode == 7, p.stderr
        out = p.stdout.split()
        assert out[0] == "0" and out[1] != "1" and int(out[1]) < 100, p.stdout  # a PID of the container's
        assert out[2:] == [os.readlink(f"/proc/{init}/ns/{n}") for n in NAMESPACES]
        # Detached, with --pid-file: the pid is the exec'd process on the host, running as the
        # user there, a child of no leftover hull (the intermediate is reaped).
        pidfile = home / "exec.pid"
        p = as_user(user, HULL_OCI, "--root", state, "exec", "-d", "--pid-file", pidfile, cid, "sleep", "300",
                    detached=True)
        assert p.returncode == 0, p.stderr
        pid = int(pidfile.read_text())
        status = Path(f"/proc/{pid}/status").read_text()
        assert status.split("Uid:")[1].split()[:4] == [str(user.pw_uid)] * 4
        assert Path(f"/proc/{pid}/cmdline").read_bytes() == b"sleep\x00300\x00"
        assert os.readlink(f"/proc/{pid}/ns/pid") == os.readlink(f"/proc/{init}/ns/pid")
        # In the foreground the exec'd process is hull's own child (CLONE_PARENT), its only
        # one: the intermediate that joined the namespaces is gone and reaped.
        argv = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--",
                str(HULL_OCI), "--root", str(state), "exec", cid, "sh", "-c", "echo ready; exec sleep 30"]
        fg = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env={"PATH": "/usr/bin:/bin"})
        try:
            assert fg.stdout.readline() == "ready\n"
            children = Path(f"/proc/{fg.pid}/task/{fg.pid}/children").read_text().split()
            assert len(children) == 1, children
            assert os.readlink(f"/proc/{children[0]}/ns/pid") == os.readlink(f"/proc/{init}/ns/pid")
        finally:
            fg.kill()
            fg.wait()
        # Errors of the exec process come back through the intermediate's child as with root.
        p = as_user(user, HULL_OCI, "--root", state, "exec", cid, "/no/such/program")
        assert p.returncode != 0 and "/no/such/program" in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_rootless_exec_tty_is_owned_by_the_containers_root(hull, user, home, base_rootfs):
    # exec -t, relayed by hull in the foreground: the pty is made by the container's root
    # (the user outside), as run -t's is.
    b, _ = rootless_bundle(user, home, base_rootfs, ["sleep", "1000"])
    cid = hull.new_id()
    state = home / "state"
    p = as_user(user, HULL_OCI, "--root", state, "run", "-d", "--bundle", b, cid, detached=True)
    assert p.returncode == 0, p.stderr
    master, slave = os.openpty()
    try:
        argv = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--",
                str(HULL_OCI), "--root", str(state), "exec", "-t", cid, "sh", "-c",
                "stat -c 'owner=%u:%g' $(tty); exit 4"]
        proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/"})
        assert proc.wait(30) == 4
        os.close(slave)
        slave = -1
        out = read_to_eof(master)
        assert b"owner=0:0" in out, out
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
        p = as_user(user, HULL_OCI, "--root", state, "delete", "--force", cid)
        assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("owner", ["user", "root"])
def test_rootless_cve_2019_5736_a_binary_the_user_can_write_runs_from_a_sealed_copy(hull, user, home, base_rootfs,
                                                                                     owner):
    # Issue 16: an unprivileged hull cannot make the read-only mount of itself. A binary of the
    # user's own, which the user's containers could write, runs from a sealed memfd copy (as
    # runc's); root's 0755 install is out of their reach and runs as it is.
    bindir = home / "bin"
    bindir.mkdir()
    shutil.copy2(HULL_OCI.parent / "hull", bindir / "hull")
    (bindir / "hull-oci").symlink_to("hull")
    if owner == "user":
        os.chown(bindir / "hull", user.pw_uid, user.pw_gid)
    b, _ = rootless_bundle(user, home, base_rootfs, ["sleep", "600"])
    cid = hull.new_id()
    state = home / "state"
    p = as_user(user, bindir / "hull-oci", "--root", state, "create", "--bundle", b, cid, detached=True)
    assert p.returncode == 0, p.stderr
    try:
        pid = json.loads(as_user(user, bindir / "hull-oci", "--root", state, "state", cid).stdout)["pid"]
        fd = os.open(f"/proc/{pid}/exe", os.O_RDONLY)
        try:
            sealed = fcntl.fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE if owner == "user" else None
            same = os.path.samestat(os.fstat(fd), os.stat(bindir / "hull"))
        finally:
            os.close(fd)
        if owner == "user":
            assert sealed and not same and os.readlink(f"/proc/{pid}/exe").startswith("/memfd:hull")
        else:
            assert same
    finally:
        p = as_user(user, bindir / "hull-oci", "--root", state, "delete", "--force", cid)
        assert p.returncode == 0, p.stderr
