"""runtime-spec hooks: each kind runs at its moment, with the state on stdin and its own
path/args/env; a failing or hanging hook aborts create and leaves nothing."""
import json
import os
import time
from pathlib import Path



def write_hook(path, body):
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def recording_hook(tmp_path, name):
    """A hook that appends 'name status pid argv env' and its stdin to a log."""
    log = tmp_path / "hooks.log"
    script = write_hook(tmp_path / f"{name}.sh",
                        f'state=$(cat); echo "{name} $* | $(env | grep ^HOOK | sort | tr "\\n" " ")| $state" >> {log}\n')
    return script, log


def hook_lines(log):
    out = []
    for line in log.read_text().splitlines():
        head, env, state = line.split(" | ", 2)
        out.append((head.split(), env.split(), json.loads(state)))
    return out


def test_every_hook_kind_runs_in_order_with_the_state_on_stdin(hull, bundle, tmp_path):
    b = bundle(["sh", "-c", "sleep 0.2"])
    kinds = ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]
    for kind in kinds:
        script, log = recording_hook(tmp_path, kind)
        b.config.setdefault("hooks", {})[kind] = [
            {"path": script, "args": [kind, "arg1", "arg2"], "env": [f"HOOK_KIND={kind}", "HOOK_X=1"]}]
    # startContainer runs inside the container (after pivot_root): its path is a container path.
    b.config["hooks"]["startContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /tmp/start-state"]}]
    b.config["root"]["readonly"] = False
    b.save()
    cid = hull.create(b)
    pid = hull.state(cid)["pid"]
    hull.oci("start", cid)
    hull.wait_status(cid, "stopped")
    hull.oci("delete", cid)
    seen = hook_lines(tmp_path / "hooks.log")
    assert [h[0][0] for h in seen] == kinds
    for head, env, state in seen:
        kind = head[0]
        assert head[1:] == ["arg1", "arg2"]
        assert env == [f"HOOK_KIND={kind}", "HOOK_X=1"]
        assert state["id"] == cid and state["bundle"] == str(b.path)
        assert state["pid"] == (pid if kind != "poststop" else 0)
    status = {h[0][0]: h[2]["status"] for h in seen}
    assert status == {"prestart": "created", "createRuntime": "creating", "createContainer": "creating",
                      "poststart": "running", "poststop": "stopped"}
    start_state = json.loads((b.rootfs / "tmp" / "start-state").read_text())
    assert start_state["id"] == cid and start_state["pid"] == pid


def test_create_container_hook_runs_in_the_container_mount_namespace(hull, bundle, tmp_path):
    out = tmp_path / "ns"
    script = write_hook(tmp_path / "cc.sh", f"readlink /proc/self/ns/mnt > {out}; readlink /proc/self/ns/pid >> {out}\n")
    b = bundle(["sleep", "10"])
    b.config["hooks"] = {"createContainer": [{"path": script}]}
    b.save()
    cid = hull.create(b)
    pid = hull.state(cid)["pid"]
    mnt, pidns = out.read_text().split()
    assert mnt == os.readlink(f"/proc/{pid}/ns/mnt")
    assert pidns == os.readlink(f"/proc/{pid}/ns/pid")
    hull.oci("delete", cid)


def test_failing_hook_aborts_create_and_leaves_nothing(hull, bundle, tmp_path):
    for kind in ("prestart", "createRuntime", "createContainer"):
        script = write_hook(tmp_path / f"fail-{kind}.sh", "echo nope >&2; exit 3\n")
        b = bundle(["true"])
        b.config["hooks"] = {kind: [{"path": script}]}
        b.save()
        cid = hull.new_id()
        p = hull.oci("create", "--bundle", b.path, cid, check=False)
        assert p.returncode == 1
        assert f"{kind} hook {script}: exited with status 3" in p.stderr
        assert hull.oci("state", cid, check=False).returncode == 1


def test_hook_timeout_is_honoured(hull, bundle, tmp_path):
    script = write_hook(tmp_path / "slow.sh", "sleep 30\n")
    b = bundle(["true"])
    b.config["hooks"] = {"createRuntime": [{"path": script, "timeout": 1}]}
    b.save()
    start = time.time()
    p = hull.oci("create", "--bundle", b.path, hull.new_id(), check=False)
    assert p.returncode == 1 and "timed out after 1 s" in p.stderr
    assert time.time() - start < 10


def test_missing_hook_binary_is_named(hull, bundle, tmp_path):
    b = bundle(["true"])
    b.config["hooks"] = {"prestart": [{"path": str(tmp_path / "no-such-hook")}]}
    b.save()
    p = hull.oci("create", "--bundle", b.path, hull.new_id(), check=False)
    assert p.returncode == 1
    assert f"prestart hook {tmp_path}/no-such-hook" in p.stderr and "no such file or directory" in p.stderr


def test_failing_poststart_and_poststop_hooks_only_warn(hull, bundle, tmp_path):
    script = write_hook(tmp_path / "fail.sh", "exit 1\n")
    b = bundle(["true"])
    b.config["hooks"] = {"poststart": [{"path": script}], "poststop": [{"path": script}]}
    b.save()
    p = hull.run(b)
    assert p.returncode == 0
    assert "poststart hook" in p.stderr and "poststop hook" in p.stderr and "warning" in p.stderr


def test_failing_start_container_hook_fails_start(hull, bundle):
    b = bundle(["true"])
    b.config["hooks"] = {"startContainer": [{"path": "/bin/false"}]}
    b.save()
    cid = hull.create(b)
    p = hull.oci("start", cid, check=False)
    assert p.returncode == 1 and "startContainer hook /bin/false: exited with status 1" in p.stderr
    hull.wait_status(cid, "stopped")
    hull.oci("delete", cid)


def test_hook_path_must_be_absolute(hull, bundle):
    b = bundle(["true"])
    b.config["hooks"] = {"prestart": [{"path": "relative/hook"}]}
    b.save()
    p = hull.oci("create", "--bundle", b.path, hull.new_id(), check=False)
    assert p.returncode == 1
    assert 'hooks.prestart[0].path: "relative/hook" is not an absolute path' in p.stderr


def test_delete_after_a_killed_create_ends_its_init_and_cgroup(hull, bundle, tmp_path):
    # An engine's timeout kills `create` while a createRuntime hook runs: the init is waiting
    # and the cgroup (at a path of the config's) exists. delete must find and end both.
    import signal
    import subprocess
    from hulltest import HULL_OCI
    marker = tmp_path / "hook-pid"
    script = write_hook(tmp_path / "stall.sh", f"echo $$ > {marker}\nexec sleep 60\n")
    b = bundle(["true"])
    b.linux["cgroupsPath"] = f"/{hull.prefix}-killed"
    b.config["hooks"] = {"createRuntime": [{"path": script}]}
    b.save()
    cid = hull.new_id()
    create = subprocess.Popen([str(HULL_OCI), "--root", str(hull.root), "create", "--bundle", str(b.path), cid],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while not (marker.exists() and marker.read_text().strip()) and time.time() < deadline:
        time.sleep(0.05)
    hook = int(marker.read_text())
    create.send_signal(signal.SIGKILL)
    create.wait()
    os.kill(hook, signal.SIGKILL)
    st = hull.state(cid)
    assert st["status"] == "creating"
    init = st["pid"]
    hull.pids.add(init)
    assert os.path.exists(f"/proc/{init}")
    hull.oci("delete", cid)
    deadline = time.time() + 30
    while os.path.exists(f"/proc/{init}") and time.time() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{init}")
    assert not any(p.exists() for p in Path("/sys/fs/cgroup").glob(f"*/{hull.prefix}-killed"))
