"""Helpers shared by hull's integration tests."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("HULL_BUILD", REPO / "build")).resolve()
HULL = BUILD / "hull"
HULL_OCI = BUILD / "hull-oci"
HELPER = BUILD / "hull-test-helper"
BUSYBOX = Path("/bin/busybox")


def make_base_rootfs(path: Path) -> Path:
    """A busybox rootfs with the static test helper in /bin."""
    (path / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, path / "bin" / "busybox")
    out = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout
    for applet in out.split():
        if applet != "busybox":
            (path / "bin" / applet).symlink_to("busybox")
    shutil.copy2(HELPER, path / "bin" / "helper")
    for d in ("proc", "sys", "dev", "etc", "tmp", "root", "mnt", "var", "run"):
        (path / d).mkdir(exist_ok=True)
    (path / "tmp").chmod(0o1777)
    (path / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    (path / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return path


class Bundle:
    def __init__(self, path: Path):
        self.path = path
        self.rootfs = path / "rootfs"
        self.config = json.loads((path / "config.json").read_text())

    @classmethod
    def create(cls, path: Path, base: Path, args=None, terminal=False, readonly=None):
        path.mkdir(parents=True)
        shutil.copytree(base, path / "rootfs", symlinks=True)
        subprocess.run([str(HULL_OCI), "spec", "--bundle", str(path)], check=True)
        b = cls(path)
        b.config["process"]["terminal"] = terminal
        if args is not None:
            b.config["process"]["args"] = list(args)
        if readonly is not None:
            b.config["root"]["readonly"] = readonly
        b.save()
        return b

    def save(self):
        (self.path / "config.json").write_text(json.dumps(self.config, indent=1))

    @property
    def process(self):
        return self.config["process"]

    @property
    def linux(self):
        return self.config["linux"]

    def add_namespace(self, kind, path=None):
        ns = {"type": kind}
        if path:
            ns["path"] = path
        self.linux["namespaces"] = [n for n in self.linux["namespaces"] if n["type"] != kind] + [ns]

    def remove_namespace(self, kind):
        self.linux["namespaces"] = [n for n in self.linux["namespaces"] if n["type"] != kind]


def userns_bundle(bundle, args, host_id=100000):
    """A bundle from the `bundle` fixture with a user namespace of its own mapping 0..65535 to
    host_id.., and a rootfs the mapped root owns."""
    b = bundle(args)
    b.add_namespace("user")
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": host_id, "size": 65536}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": host_id, "size": 65536}]
    subprocess.run(["chown", "-R", f"{host_id}:{host_id}", str(b.rootfs)], check=True)
    b.save()
    return b


class Hull:
    """Runs the built hull with a state root of the test's own."""

    def __init__(self, root: Path, prefix: str):
        self.root = Path(root)
        self.prefix = prefix
        self.ids = set()
        self.pids = set()
        self.counter = 0
        self.hull_oci = HULL_OCI  # a test may point this at a copy of the binary

    def new_id(self, name="c"):
        self.counter += 1
        cid = f"{self.prefix}-{name}{self.counter}"
        self.ids.add(cid)
        return cid

    def oci(self, *args, check=True, input=None, timeout=60, env=None, stdin=None, pass_fds=(), root=True,
            files=False):
        """Runs hull-oci. files=True: stdout/stderr go through files, not pipes, for commands
        whose container keeps them open (create, run -d), as engines do with fifos."""
        cmd = [str(self.hull_oci)] + (["--root", str(self.root)] if root else []) + [str(a) for a in args]
        if files or (args and args[0] == "create") or "-d" in args or "--detach" in args:
            with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
                rc = subprocess.run(cmd, stdout=out, stderr=err, text=True, input=input, timeout=timeout, env=env,
                                    stdin=stdin if input is None else None, pass_fds=pass_fds).returncode
                out.seek(0)
                err.seek(0)
                p = subprocess.CompletedProcess(cmd, rc, out.read(), err.read())
        else:
            p = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout, env=env,
                               stdin=stdin, pass_fds=pass_fds)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def run(self, bundle, cid=None, *extra, check=False, **kw):
        cid = cid or self.new_id()
        return self.oci("run", "--bundle", bundle.path, *extra, cid, check=check, **kw)

    def create(self, bundle, cid=None, *extra, **kw):
        cid = cid or self.new_id()
        self.oci("create", "--bundle", bundle.path, *extra, cid, **kw)
        st = self.state(cid)
        self.pids.add(st["pid"])
        return cid

    def state(self, cid, check=True):
        p = self.oci("state", cid, check=check)
        if p.returncode != 0:
            return None
        st = json.loads(p.stdout)
        if st.get("pid"):
            self.pids.add(st["pid"])
        return st

    def wait_status(self, cid, want, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = self.state(cid)
            if st["status"] == want:
                return st
            time.sleep(0.02)
        raise AssertionError(f"container {cid} never became {want}: {st}")

    def force_cleanup(self):
        for cid in list(self.ids):
            subprocess.run([str(self.hull_oci), "--root", str(self.root), "delete", "--force", cid],
                           capture_output=True, timeout=30)


V1_CONTROLLERS = {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb",
                  "net_cls", "net_prio", "perf_event", "rdma", "misc"}


def read_to_eof(fd, size=65536):
    """Everything a pty master (or pipe) gives until its other side is closed: a pty master
    reports that as EIO, a pipe as an empty read."""
    out = b""
    while True:
        try:
            chunk = os.read(fd, size)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


def comm(pid):
    """A process's name, or "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def thaw_by_hand(pid):
    """Thaws the cgroups of a process (after a `resume` that hung), so that a fixture can delete
    its container."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if ctrls == "":
            mount = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
        else:
            mount = "/sys/fs/cgroup/" + ctrls.replace("name=", "")
        for f, thawed in (("freezer.state", "THAWED"), ("cgroup.freeze", "0")):
            if os.path.exists(f"{mount}{path}/{f}"):
                Path(f"{mount}{path}/{f}").write_text(thawed)


def wait_for(condition, what, timeout=30):
    """Polls for a condition. Generous timeout: under emulation (tests/vm) everything is slow."""
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def cgroup_layout():
    """v1, v2, hybrid or none, from /proc/self/mountinfo as hull reads it (a v1 hierarchy
    without controllers, such as name=systemd, does not count)."""
    v1 = v2 = False
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fstype, _, super_opts = line.split(" - ", 1)[1].split()[:3]
            v1 |= fstype == "cgroup" and bool(V1_CONTROLLERS & set(super_opts.split(",")))
            v2 |= fstype == "cgroup2"
    return {(True, True): "hybrid", (True, False): "v1", (False, True): "v2"}.get((v1, v2), "none")


def cgroup_dirs_with(prefix, depth=3):
    """Directories named PREFIX* in any cgroup hierarchy, down to `depth` levels (the default
    /hull/ID, and the custom cgroupsPaths tests use), so a leaked cgroup is found wherever
    a test put it."""
    found = []

    def walk(d, level):
        try:
            subs = [s for s in d.iterdir() if s.is_dir() and not s.is_symlink()]
        except OSError:
            return
        for s in subs:
            if s.name.startswith(prefix):
                found.append(str(s))
            elif level < depth:
                walk(s, level + 1)

    base = Path("/sys/fs/cgroup")
    if (base / "cgroup.controllers").exists():
        walk(base, 1)  # pure v2: the hierarchy is the base itself
    else:
        for h in base.iterdir():
            if h.is_dir() and not h.is_symlink():
                walk(h, 1)
    return found


def leftovers(h: Hull, tmp: Path):
    left = []
    if h.root.exists():
        left += [f"state {p}" for p in h.root.iterdir() if not p.name.startswith(".")]
    left += [f"cgroup {d}" for d in cgroup_dirs_with(h.prefix)]
    tmp_s = str(tmp)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp.startswith(tmp_s):
                left.append(f"mount {mp}")
    for pid in h.pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()[0]
            if st not in ("Z", "X"):
                left.append(f"process {pid}")
        except FileNotFoundError:
            pass
    # Any process whose root or cwd is inside this test's files is a leaked container process.
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        for link in ("root", "cwd"):
            try:
                t = os.readlink(p / link)
            except OSError:
                continue
            if t.startswith(tmp_s):
                left.append(f"process {p.name} ({link} {t})")
                break
    return left


def hull_friendly(*args, check=True, timeout=60, input=None, env=None):
    p = subprocess.run([str(HULL)] + [str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                       input=input, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"hull {' '.join(map(str, args))} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


class Friendly:
    """Runs `hull`'s friendly face with state, OCI root and cgroup parent of the test's own
    ($HULL_STATE, $HULL_ROOT, $HULL_CGROUP_PARENT), so tests never touch /var/lib/hull."""

    def __init__(self, tmp: Path, prefix: str):
        self.tmp = Path(tmp)
        self.state = self.tmp / "lib"
        self.root = self.tmp / "run"
        self.prefix = prefix
        self.cgroup_parent = f"/hull/{prefix}"
        self.env = dict(os.environ, HULL_STATE=str(self.state), HULL_ROOT=str(self.root),
                        HULL_CGROUP_PARENT=self.cgroup_parent)
        # A container in a user namespace reaches its bound files and its overlay's mount point
        # as an unmapped user: the directories on the way must let it pass (not list).
        p = self.tmp
        while p != p.parent and str(p).startswith("/tmp/"):
            os.chmod(p, os.stat(p).st_mode | 0o111)
            p = p.parent

    def __call__(self, *args, check=True, input=None, timeout=60, stdin=None):
        cmd = [str(HULL)] + [str(a) for a in args]
        p = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout, env=self.env,
                           stdin=stdin if input is None else None)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def run(self, *args, keep=False, **kw):
        """hull run [--rm] ARGS; check=False by default: the exit code is the container's.
        keep=True: without --rm, so that ps -a shows the container afterwards."""
        kw.setdefault("check", False)
        return self("run", *(() if keep else ("--rm",)), *args, **kw)

    def detach(self, *args):
        """hull run -d ARGS: the container's full id."""
        cid = self("run", "-d", *args).stdout.strip()
        assert re.fullmatch(r"[0-9a-f]{64}", cid), cid
        return cid

    def inspect(self, ref):
        found = json.loads(self("inspect", "--json", ref).stdout)
        assert len(found) == 1, found
        return found[0]

    def ps(self, *args):
        return json.loads(self("ps", "--json", *args).stdout)

    def pid(self, ref):
        return self.inspect(ref)["pid"]

    def log(self, ref):
        """Both streams of the log in the order they were written (`hull logs` gives stdout on
        1 and stderr on 2, as docker's): merged by their -t timestamps."""
        p = self("logs", "-t", ref)
        lines = []
        for i, text in enumerate((p.stdout, p.stderr)):
            for n, line in enumerate(text.splitlines(keepends=True)):
                stamp, _, rest = line.partition(" ")
                lines.append((stamp, i, n, rest))
        return "".join(rest for *_, rest in sorted(lines))

    def wait_log(self, ref, text, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            out = self.log(ref)
            if text in out:
                return out
            time.sleep(0.02)
        raise AssertionError(f"{ref} never printed {text!r}; log: {self.log(ref)!r}")

    def wait_state(self, ref, want, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = self.inspect(ref)
            if st["state"] == want and (want != "exited" or "exitCode" in st):
                return st
            time.sleep(0.02)
        raise AssertionError(f"{ref} never became {want}: {self.inspect(ref)}")

    def cgroup_dir(self, controller, cid):
        return Path("/sys/fs/cgroup") / controller / self.cgroup_parent.lstrip("/") / cid

    def monitors(self):
        """Processes started by hull with this test's state dir in their environment."""
        mark = f"HULL_STATE={self.state}".encode()
        found = []
        for p in Path("/proc").iterdir():
            if not p.name.isdigit() or int(p.name) == os.getpid():
                continue
            try:
                env = (p / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if mark in env:
                found.append(int(p.name))
        return found

    def force_cleanup(self):
        if (self.state / "containers").exists():
            for d in (self.state / "containers").iterdir():
                subprocess.run([str(HULL), "rm", "-f", d.name], env=self.env, capture_output=True, timeout=30)
        for pid in self.monitors():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def leftovers(self):
        left = []
        for sub in ("containers", "names"):
            d = self.state / sub
            if d.exists():
                left += [f"friendly {sub}/{p.name}" for p in d.iterdir()]
        if self.root.exists():
            left += [f"state {p}" for p in self.root.iterdir() if not p.name.startswith(".")]
        base = Path("/sys/fs/cgroup")
        for h in base.iterdir():
            parent = h / self.cgroup_parent.lstrip("/")
            if parent.is_dir():
                children = [f"cgroup {d}" for d in parent.iterdir() if d.is_dir()]
                left += children
                try:
                    parent.rmdir()  # the per-test parent itself is the fixture's, not a leak
                except OSError as e:
                    if not children:
                        left.append(f"cgroup {parent} ({e})")
        tmp_s = str(self.tmp)
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4]
                if mp.startswith(tmp_s):
                    left.append(f"mount {mp}")
        left += [f"process {pid} (a hull of this test)" for pid in self.monitors()]
        return left


def systemd_is_init():
    try:
        return Path("/run/systemd/system").is_dir() and Path("/proc/1/comm").read_text().strip() == "systemd"
    except OSError:
        return False


def require_systemd_init():
    """For tests of the systemd cgroup driver: they skip where systemd is not PID 1, except in
    the systemd VM (HULL_EXPECT_SYSTEMD=1), where that is a failure."""
    if not systemd_is_init():
        if os.environ.get("HULL_EXPECT_SYSTEMD"):
            pytest.fail("HULL_EXPECT_SYSTEMD is set but systemd is not PID 1")
        pytest.skip("needs systemd as PID 1 (tests/vm/run-suite --systemd runs it)")
