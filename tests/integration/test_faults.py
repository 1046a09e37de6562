"""Fault injection (issue 16): build/hull-fault is hull with its fault points live
(src/util/fault.h); HULL_FAULT_AT=STEP makes it SIGKILL itself at that step of create,
start, exec, delete or update, as an engine's timeout or the OOM killer would. After each
kill, `delete --force` by the ordinary hull must leave nothing: no state, no cgroup in any
hierarchy (nor a parent hull made for a nested cgroupsPath), no mount, no process (the
fixture checks all of them)."""
import os
import signal
from pathlib import Path

import pytest

from hulltest import BUILD, HULL_OCI, wait_for

FAULTY = BUILD / "hull-fault"

CREATE_STEPS = ["create.recorded", "create.cgroup", "create.cloned", "create.saved", "create.ready"]

pytestmark = pytest.mark.skipif(not FAULTY.exists(), reason=f"{FAULTY} is not built")


@pytest.fixture
def faulty(hull, tmp_path):
    """Runs hull-fault as hull-oci (it picks its face by its name)."""
    link = tmp_path / "fault-bin" / "hull-oci"
    link.parent.mkdir()
    link.symlink_to(FAULTY)

    def run(step, *args, check_killed=True):
        env = dict(os.environ, HULL_FAULT_AT=step)
        hull.hull_oci = link
        try:
            p = hull.oci(*args, check=False, env=env, files=True)
        finally:
            hull.hull_oci = HULL_OCI
        if check_killed:
            assert p.returncode == -signal.SIGKILL, (step, p.returncode, p.stderr)
        return p

    return run


def container_bundle(hull, bundle, custom):
    b = bundle(["sleep", "1000"])
    cid = hull.new_id()
    if custom:
        # Nested, as engines write them: hull makes both levels, and must remove both.
        b.linux["cgroupsPath"] = f"/{hull.prefix}-pod/{cid}"
    b.save()
    return b, cid


def processes_rooted_in(path):
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if os.readlink(p / "cwd").startswith(str(path)) or os.readlink(p / "root").startswith(str(path)):
                    out.append(p.name)
            except OSError:
                pass
    return out


def delete_force_leaves_nothing(hull, cid, tmp_path):
    hull.oci("delete", "--force", cid)
    assert not (hull.root / cid).exists()
    # An init killed with its parent before it was released exits by itself (its sync socket
    # closed); give it the moment it needs before the fixture looks.
    wait_for(lambda: not processes_rooted_in(tmp_path), "the orphaned init to exit", timeout=10)


@pytest.mark.parametrize("custom", [False, True], ids=["default-cgroup", "custom-cgroup"])
@pytest.mark.parametrize("step", CREATE_STEPS)
def test_create_killed_at_each_step(hull, bundle, faulty, tmp_path, step, custom):
    b, cid = container_bundle(hull, bundle, custom)
    faulty(step, "create", "--bundle", b.path, cid)
    assert (hull.root / cid).exists()
    delete_force_leaves_nothing(hull, cid, tmp_path)


@pytest.mark.parametrize("custom", [False, True], ids=["default-cgroup", "custom-cgroup"])
@pytest.mark.parametrize("step, verb", [
    ("start.sent", ["start"]),
    ("exec.cloned", ["exec", "CID", "true"]),
    ("update.applied", ["update", "--memory", "64m", "CID"]),
    ("delete.killed", ["delete", "--force"]),
    ("delete.cgroup", ["delete", "--force"]),
])
def test_a_verb_killed_at_each_step(hull, bundle, faulty, tmp_path, step, verb, custom):
    b, cid = container_bundle(hull, bundle, custom)
    hull.create(b, cid)
    if step != "start.sent":
        hull.oci("start", cid)
    args = [cid if a == "CID" else a for a in verb]
    if "CID" not in verb:
        args.append(cid)
    faulty(step, *args)
    delete_force_leaves_nothing(hull, cid, tmp_path)


def test_the_release_binary_ignores_the_variable(hull, bundle):
    b = bundle(["true"])
    env = dict(os.environ, HULL_FAULT_AT="create.cgroup")
    assert hull.run(b, env=env).returncode == 0
