"""Integration tests: real containers as root against the real kernel, driving the built
`hull` like a user. After every test a check that nothing is left: state dirs, cgroups,
mounts, processes."""
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from hulltest import BUILD, HELPER, Bundle, Friendly, Hull, leftovers, make_base_rootfs

if os.geteuid() != 0:
    pytest.exit("integration tests run as root (real namespaces, cgroups, mounts)", returncode=1)


def pytest_configure(config):
    config.addinivalue_line("markers", "cgroup: real cgroup limits; the cgroup v2 VM suite runs these too")


@pytest.fixture(scope="session")
def base_rootfs(tmp_path_factory):
    return make_base_rootfs(tmp_path_factory.mktemp("base") / "rootfs")


@pytest.fixture
def hull(tmp_path, request):
    root = tmp_path / "state"
    h = Hull(root, prefix="t" + uuid.uuid4().hex[:8])
    yield h
    left = leftovers(h, tmp_path)
    # Clean up after a failing test anyway, so one failure does not cascade.
    if left:
        h.force_cleanup()
    assert not left, "left behind: " + "; ".join(left)


@pytest.fixture
def bundle(tmp_path, base_rootfs):
    def make(args=None, **kw):
        return Bundle.create(tmp_path / f"bundle-{uuid.uuid4().hex[:6]}", base_rootfs, args=args, **kw)
    return make


@pytest.fixture
def friendly(tmp_path):
    """The friendly face with state of the test's own; afterwards nothing may be left: no
    container or name in the state dir, no OCI state, cgroup, mount, monitor or process."""
    f = Friendly(tmp_path, prefix="f" + uuid.uuid4().hex[:8])
    yield f
    left = f.leftovers()
    if left:
        f.force_cleanup()
        f.leftovers()  # removes the emptied cgroup parents
    assert not left, "left behind: " + "; ".join(left)
