"""runc's words and exit codes where engines act on them (issues 18, 19; docs/engine-errors.md):
containerd's runc shim, podman and docker read a runtime's error text to tell "already stopped"
or "gone" from a failure. Each test asserts one word an engine matches, or one behaviour an
engine's cleanup path relies on."""
import json
import os

import pytest

from hulltest import cgroup_dirs_with, wait_for


def one_line(p):
    assert p.returncode == 1, (p.stdout, p.stderr)
    err = p.stderr.strip()
    assert err.startswith("hull: ") and "\n" not in err, err
    return err


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.cgroup
def test_kill_all_of_a_stopped_container_ends_what_is_left_and_succeeds(hull, bundle):
    # No PID namespace of its own (a pod's shared one, or the host's): the init exits and leaves
    # a child in the cgroup. containerd's shim runs `kill --all ID KILL` after every such exit.
    b = bundle(["sh", "-c", "sleep 1000 & exec true"])
    b.remove_namespace("pid")
    b.save()
    cid = hull.create(b)
    hull.oci("start", cid)
    hull.wait_status(cid, "stopped")
    pids = set()
    for d in cgroup_dirs_with(hull.prefix):
        procs = os.path.join(d, "cgroup.procs")
        if os.path.exists(procs):
            pids |= {int(x) for x in open(procs).read().split()}
    assert pids, "the init's child should still be in the container's cgroup"
    hull.pids |= pids
    assert hull.oci("kill", "--all", cid, "KILL").returncode == 0
    wait_for(lambda: not any(alive(p) for p in pids), "the left-behind child to die")
    # Nothing left: still success, with the short flag too, and any signal.
    assert hull.oci("kill", "-a", cid, "KILL").returncode == 0
    assert hull.oci("kill", "--all", cid).returncode == 0
    # The cgroup gone (a systemd scope removes itself; someone cleaned up): still success.
    for d in sorted(cgroup_dirs_with(hull.prefix), key=len, reverse=True):
        os.rmdir(d)
    assert hull.oci("kill", "--all", cid, "KILL").returncode == 0
    hull.oci("delete", cid)


@pytest.mark.cgroup
def test_signal_to_a_stopped_container_says_container_not_running(hull, bundle):
    b = bundle(["true"])
    cid = hull.create(b)
    hull.oci("start", cid)
    hull.wait_status(cid, "stopped")
    for sig in ("TERM", "KILL", "0"):
        err = one_line(hull.oci("kill", cid, sig, check=False))
        assert "container not running" in err and cid in err, err
    # The words that end StopContainer as "already stopped" in containerd's shim.
    hull.oci("delete", cid)


@pytest.mark.cgroup
def test_signal_zero_probes_a_running_container(hull, bundle):
    b = bundle(["sleep", "1000"])
    cid = hull.create(b)
    assert hull.oci("kill", cid, "0").returncode == 0  # created: the init exists
    hull.oci("start", cid)
    assert hull.oci("kill", cid, "0").returncode == 0
    assert hull.state(cid)["status"] == "running"  # 0 delivers nothing
    one_line(hull.oci("kill", cid, "-1", check=False))
    hull.oci("delete", "--force", cid)


def test_a_missing_container_does_not_exist_for_every_verb(hull):
    cid = hull.new_id()
    for args in (["state", cid], ["kill", cid, "KILL"], ["kill", "--all", cid, "KILL"], ["start", cid],
                 ["delete", cid], ["ps", cid], ["pause", cid], ["events", "--stats", cid]):
        err = one_line(hull.oci(*args, check=False))
        assert "does not exist" in err, (args, err)


def test_delete_force_of_a_missing_container_succeeds_quietly(hull):
    # runc and crun exit 0: engines (podman after a failed create) clean up this way.
    cid = hull.new_id()
    p = hull.oci("delete", "--force", cid)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    # ... but an id that could never be a container is still an error.
    err = one_line(hull.oci("delete", "--force", "../escape", check=False))
    assert "container id" in err


def test_a_second_create_with_the_same_id_says_container_with_id_exists(hull, bundle):
    b = bundle(["true"])
    cid = hull.create(b)
    err = one_line(hull.oci("create", "--bundle", b.path, cid, check=False))
    assert "container with id exists" in err and cid in err, err
    assert hull.state(cid)["status"] == "created"  # the first one is untouched
    hull.oci("delete", cid)


def test_a_config_hull_refuses_says_invalid_configuration(hull, bundle):
    b = bundle(["true"])
    b.process["args"] = []
    b.save()
    err = one_line(hull.oci("create", "--bundle", b.path, hull.new_id(), check=False))
    assert "invalid configuration" in err and "process.args" in err, err


@pytest.mark.parametrize("args,words", [
    (["no-such-binary"], "executable file not found in $PATH"),  # podman, docker: exit 127
    (["/no/such/file"], "no such file or directory"),            # podman, docker: exit 127
    (["/etc/passwd"], "permission denied"),                      # podman, docker: exit 126
])
def test_exec_failures_carry_the_words_engines_map_to_exit_codes(hull, bundle, tmp_path, args, words):
    b = bundle(args)
    log = tmp_path / "log.json"
    p = hull.oci("--log", log, "--log-format", "json", "run", "--bundle", b.path, hull.new_id(), check=False)
    err = one_line(p)
    assert words in err, err
    # containerd's shim reads the last error of the JSON log into its message.
    last = [json.loads(line) for line in log.read_text().splitlines() if '"error"' in line][-1]
    assert words in last["msg"]


@pytest.mark.cgroup
def test_ps_of_a_stopped_container_prints_the_header(hull, bundle):
    b = bundle(["true"])
    cid = hull.create(b)
    hull.oci("start", cid)
    hull.wait_status(cid, "stopped")
    p = hull.oci("ps", cid)
    lines = p.stdout.splitlines()
    assert len(lines) == 1 and "PID" in lines[0].split(), p.stdout
    assert json.loads(hull.oci("ps", "--format", "json", cid).stdout) == []
    hull.oci("delete", cid)
