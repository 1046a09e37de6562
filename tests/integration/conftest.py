"""Integration tests: real containers as root against the real kernel, driving the built
`hull` like a user. After every test a check that nothing is left: state dirs, cgroups,
mounts, processes."""
import os
import uuid
from pathlib import Path

import pytest

from hulltest import Bundle, Friendly, Hull, cgroup_layout, leftovers, make_base_rootfs
from nettest import NetNS

if os.geteuid() != 0:
    pytest.exit("integration tests run as root (real namespaces, cgroups, mounts)", returncode=1)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "cgroup: exercises the container's cgroup; tests/vm/run-suite runs these on pure cgroup v2")
    config.addinivalue_line(
        "markers", "systemd: needs systemd as PID 1; tests/vm/run-suite --systemd runs these in the VM")
    config.addinivalue_line(
        "markers", "cve: a CVE's regression test; tests/vm/run-suite runs these on pure cgroup v2 too")


@pytest.fixture
def cgroup_v2():
    """For tests of facts only a pure cgroup v2 host has. They skip elsewhere, except in the
    v2 VM (HULL_EXPECT_CGROUP_V2=1), where finding another layout is a failure."""
    layout = cgroup_layout()
    if layout != "v2":
        if os.environ.get("HULL_EXPECT_CGROUP_V2"):
            pytest.fail(f"HULL_EXPECT_CGROUP_V2 is set but the cgroup layout is {layout}")
        pytest.skip(f"needs a pure cgroup v2 host; this one is {layout} (tests/vm/run-suite runs it on v2)")
    return Path("/sys/fs/cgroup")


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
def netns(hull, tmp_path, bundle):
    """A network namespace for the test, with hull's network state in tmp_path/lib. After the
    test: no link but lo, no nftables table, no network or lease left in it, and nothing new
    in the host's namespace."""
    ns = NetNS(hull, tmp_path, bundle)
    yield ns
    left = ns.leftovers()
    if left:
        ns.force_cleanup()
    left += ns.destroy()
    assert not left, "left behind: " + "; ".join(left)


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
