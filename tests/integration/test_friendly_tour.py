"""`hull tour` runs to the end without a terminal, and each step's evidence is what the kernel
says it should be."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from hulltest import HULL


def test_the_whole_tour_in_ci_mode(friendly):
    p = friendly("tour", "--json", check=False, timeout=300, stdin=None)
    report = json.loads(p.stdout)
    steps = {s["step"]: s for s in report["steps"]}
    assert list(steps) == ["pid", "mount", "uts", "ipc", "user", "cpu", "memory", "blkio", "network"]

    e = steps["pid"]["evidence"]
    assert e["insidePid"] == 1 and e["nsPids"] == [e["hostPid"], 1] and e["hostPid"] > 1
    assert 0 < e["processesInside"] < e["processesOnHost"]

    e = steps["mount"]["evidence"]
    assert e["readBackInside"] and not e["existsOnHost"] and not os.path.exists(e["file"])
    assert e["rootType"] == "overlay"
    assert e["namespace"]["inode"] != e["namespace"]["hostInode"]
    assert e["namespace"]["hostInode"] == os.stat("/proc/self/ns/mnt").st_ino

    e = steps["uts"]["evidence"]
    assert e["inside"] == "tour-box" and e["host"] == Path("/proc/sys/kernel/hostname").read_text().strip()

    e = steps["ipc"]["evidence"]
    assert e["segmentsInside"] == 0 and e["segmentsOnHost"] >= 1

    e = steps["user"]["evidence"]
    assert e["uidInside"] == "0" and e["uidOnHost"] == e["uidMap"][1] != 0 and e["uidMap"][0] == 0

    e = steps["cpu"]["evidence"]
    assert e["quota"] == "50000" and e["period"] == "100000"
    # two loops that want two CPUs, held to half of one: the quota's arithmetic bounds their
    # time, and cpu.stat shows the kernel stopping them (not the host's load slowing them)
    assert 1.5 <= e["seconds"] <= 10.5 and e["loops"] == 2
    assert e["allowedPercent"] == pytest.approx((e["seconds"] * 0.5 + 0.05) / e["seconds"] * 100)
    assert 0 < e["measuredPercent"] <= e["allowedPercent"] + 5
    assert e["throttledPeriods"] > 0 and e["throttledMs"] > 0

    e = steps["memory"]["evidence"]
    # the tutorial's numbers: stress's 300 MiB worker OOM-killed at 256 MiB; stress gives up
    assert e["limit"] == str(256 << 20) and e["oomKilled"] and e["workerKilled"] and e["exitCode"] != 0
    assert steps["memory"]["command"] == "hull run --rm --memory 256m --memory-swap 256m host stress --vm 1 --vm-bytes 300M"
    assert any("got signal 9" in l for l in steps["memory"]["inside"])

    # the CPU step explains the figure it prints
    assert any("quota allows" in l and "plus the 50 ms of the period under way" in l for l in steps["cpu"]["kernel"])
    assert any("1 shared memory segment," in l for l in steps["ipc"]["kernel"])

    e = steps["blkio"]["evidence"]
    assert e["throttle"] == f"{e['major']}:{e['minor']} {4 << 20}"
    assert e["bytesPerSecond"] <= e["limit"] * 1.25
    assert e["seconds"] >= 12 / 4 * 0.8

    e = steps["network"]["evidence"]
    assert e["sameNetworkByName"] and e["sameNetworkByAddress"] and not e["otherNetworkReached"]
    assert e["netns"] != e["hostNetns"] == os.stat("/proc/self/ns/net").st_ino
    assert e["addressA"] and e["addressB"] and e["addressC"] and e["addressC"] != e["addressA"]
    assert not list((friendly.state / "networks").glob("*.json"))  # its networks went with it

    for s in report["steps"]:
        assert s["ok"], s
        assert s["kernel"] and s["verdict"]
        # every line printed is a command as typed: hull, or the dd that makes blkio's file
        for line in s["command"].split("\n"):
            assert line.strip().split()[0] in ("hull", "dd"), line
    assert steps["blkio"]["command"].startswith("dd if=/dev/zero of=")
    assert "-v HOST" not in steps["blkio"]["command"] and "FILE" not in steps["blkio"]["command"]
    assert steps["network"]["command"].startswith("hull network create tour-red\n")
    assert report["ok"] and p.returncode == 0
    assert not list(friendly.state.glob("tour-blkio-*"))


def test_one_step_in_words(friendly):
    p = friendly("tour", "uts", timeout=60)
    out = p.stdout
    assert "1/1  uts" in out and "the tutorial: unshare --uts" in out
    assert "container │ tour-box" in out
    assert "✔ inside the name is tour-box" in out
    assert "\033[" not in out  # no terminal, no colours
    assert out.rstrip().endswith("Every step showed what the tutorial says.")


def test_an_unknown_step_is_one_line(friendly):
    p = friendly("tour", "network9", check=False)
    assert p.returncode == 1
    assert p.stderr == ('hull: no tour step "network9" (the steps: pid, mount, uts, ipc, user, cpu, memory, '
                        'blkio, network)\n')


@pytest.mark.parametrize("step", ["pid", "uts", "ipc", "user", "mount"])
def test_the_printed_command_runs_as_printed(friendly, step):
    """Issue 15: what the tour prints is what runs, copy-pasteable: pasted into a shell (with
    this hull first on PATH) it prints what the tour's container printed."""
    report = json.loads(friendly("tour", "--json", step, timeout=60).stdout)
    s = report["steps"][0]
    assert s["ok"], s
    env = dict(friendly.env, PATH=f"{HULL.parent}:{os.environ['PATH']}")
    p = subprocess.run(["sh", "-c", s["command"]], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, (s["command"], p.stderr)
    got = [l for l in p.stdout.splitlines() if l]
    if step == "pid":
        # the same shape: PID 1, then its processes (ps, sh)
        assert got[0] == "my PID: 1" and got[0] == s["inside"][0] and len(got) == len(s["inside"])
    elif step == "user":
        assert got[0] == "0" and got[1].split()[0] == "0"
    else:
        assert got == s["inside"], (s["command"], got, s["inside"])
