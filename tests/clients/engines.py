"""The engines that drive hull in these tests (podman, containerd + ctr, docker, buildah), each
started with configuration and state of its own under a temp dir, and the busybox image they
all run, built here as an OCI archive with umoci."""
import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from hulltest import BUILD, HULL, HULL_OCI, make_base_rootfs  # noqa: E402

IMAGE = "localhost/busybox:latest"
# The host's cgroup layout, for the systemd driver's tests: pure v2, or hybrid (the systemd VM
# boots both: tests/vm/run-suite --systemd, --systemd-hybrid).
CG = Path("/sys/fs/cgroup")
CGROUP_V2 = (CG / "cgroup.controllers").exists()
MEMORY_PROP = "MemoryMax" if CGROUP_V2 else "MemoryLimit"  # systemd's property for the limit


def memory_limit(cgroup):
    """The memory limit file's content for the cgroup path (memory.max, or v1's limit_in_bytes)."""
    rel = cgroup.lstrip("/")
    f = CG / rel / "memory.max" if CGROUP_V2 else CG / "memory" / rel / "memory.limit_in_bytes"
    return f.read_text().strip()


def cpu_max(cgroup):
    """'QUOTA PERIOD' as v2's cpu.max says it, from v1's two files on a v1 or hybrid host."""
    rel = cgroup.lstrip("/")
    if CGROUP_V2:
        return (CG / rel / "cpu.max").read_text().strip()
    d = CG / "cpu,cpuacct" / rel
    return f"{(d / 'cpu.cfs_quota_us').read_text().strip()} {(d / 'cpu.cfs_period_us').read_text().strip()}"
# Engines run with a PATH of their own: the one the tests inherit may hold anything.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def sh(cmd, check=True, timeout=120, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{shlex.join(map(str, cmd))} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def umoci_archive(work: Path, ref: str, fill, config) -> Path:
    """A one-layer OCI image in an OCI archive, built with umoci: fill(rootfs) puts the files
    in, `config` are umoci config flags; tagged `ref`, the full name, so that podman, ctr and
    skopeo all call it that."""
    layout, bundle = work / "layout", work / "unpacked"
    sh(["umoci", "init", "--layout", layout])
    sh(["umoci", "new", "--image", f"{layout}:latest"])
    sh(["umoci", "unpack", "--image", f"{layout}:latest", bundle])
    fill(bundle / "rootfs")
    sh(["umoci", "repack", "--image", f"{layout}:latest", bundle])
    sh(["umoci", "config", "--image", f"{layout}:latest", *config])
    sh(["umoci", "gc", "--layout", layout])
    index = json.loads((layout / "index.json").read_text())
    index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] = ref
    (layout / "index.json").write_text(json.dumps(index))
    archive = work / f"{ref.split('/')[-1].split(':')[0]}-oci.tar"
    sh(["tar", "-C", layout, "-cf", archive, "."])
    return archive


def build_oci_archive(work: Path) -> Path:
    """busybox + the test helper as a one-layer OCI image, tagged IMAGE, in an OCI archive."""
    def fill(rootfs):
        make_base_rootfs(work / "rootfs")
        shutil.copytree(work / "rootfs", rootfs, symlinks=True, dirs_exist_ok=True)
    return umoci_archive(work, IMAGE, fill, ["--config.cmd", "sh", "--config.env", f"PATH={SYSTEM_PATH}"])


def hard_limit(res, cap):
    hard = resource.getrlimit(res)[1]
    return cap if hard == resource.RLIM_INFINITY else min(hard, cap)


class Engine:
    """A command line with fixed leading arguments and environment."""

    def __init__(self, argv, env, cwd):
        self.argv = [str(a) for a in argv]
        self.env = env
        # conmon drops files (an "oom" marker) in its working directory: keep them in the temp dir.
        self.cwd = cwd

    def __call__(self, *args, check=True, input=None, timeout=120, tty=False):
        cmd = self.argv + [str(a) for a in args]
        if tty:
            # A real terminal for -t: `script` runs the command on a pty of its own.
            cmd = ["script", "-qec", shlex.join(cmd), "/dev/null"]
        p = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout, env=self.env,
                           cwd=self.cwd, stdin=subprocess.DEVNULL if input is None else None)
        if check and p.returncode != 0:
            raise AssertionError(f"{shlex.join(cmd)} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
        return p


def podman_setup(home: Path, runtime=HULL_OCI):
    """podman with containers.conf, storage.conf and registries.conf under `home`. hull is the
    default runtime and named in runtime_supports_json, so podman passes it --log-format json."""
    for d in ("root", "runroot", "tmp", "cni"):
        (home / d).mkdir(parents=True, exist_ok=True)
    # No CAP_SYS_RESOURCE here: podman's defaults (nofile 1048576) exceed the hard limits.
    nofile = hard_limit(resource.RLIMIT_NOFILE, 4096)
    nproc = hard_limit(resource.RLIMIT_NPROC, 8192)
    (home / "containers.conf").write_text(f"""
[containers]
log_driver = "k8s-file"
netns = "none"
default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{home}/events.log"
tmp_dir = "{home}/tmp"
runtime = "hull"
runtime_supports_json = ["hull", "crun", "runc"]
[engine.runtimes]
hull = ["{runtime}"]
[network]
network_config_dir = "{home}/cni"
""")
    (home / "storage.conf").write_text(f"""
[storage]
driver = "overlay"
runroot = "{home}/runroot"
graphroot = "{home}/root"
""")
    (home / "registries.conf").write_text("unqualified-search-registries = []\n")
    env = {"PATH": SYSTEM_PATH, "CONTAINERS_CONF": str(home / "containers.conf"),
           "CONTAINERS_STORAGE_CONF": str(home / "storage.conf"),
           "CONTAINERS_REGISTRIES_CONF": str(home / "registries.conf"), "TMPDIR": str(home / "tmp")}
    return Engine(["podman"], env, home)


class Daemon:
    """A daemon the tests start (in a network namespace of its own when asked) and stop."""

    def __init__(self, name, argv, log: Path, env, new_netns=False):
        self.name = name
        self.log = log
        prefix = ["unshare", "--net"] if new_netns else []
        self.proc = subprocess.Popen(prefix + [str(a) for a in argv], stdout=open(log, "w"), stderr=subprocess.STDOUT,
                                     env=env, cwd=log.parent, start_new_session=True)

    def wait_for(self, ready, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            if ready():
                return
            time.sleep(0.1)
        raise AssertionError(f"{self.name} not ready after {timeout} s:\n{self.log.read_text()[-3000:]}")

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def containerd_setup(home: Path):
    """containerd with root, state and sockets under `home`, and hull first on its PATH under
    the name `runc` (what the shim runs when no runtime binary is named, e.g. ctr run --uidmap)."""
    for d in ("root", "state", "bin"):
        (home / d).mkdir(parents=True, exist_ok=True)
    (home / "bin" / "runc").symlink_to(HULL)
    sock = home / "containerd.sock"
    (home / "config.toml").write_text(f"""
version = 2
root = "{home}/root"
state = "{home}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[plugins."io.containerd.monitor.v1.cgroups"]
  no_prometheus = true
""")
    env = {"PATH": f"{home / 'bin'}:{SYSTEM_PATH}"}
    d = Daemon("containerd", ["containerd", "--config", home / "config.toml"], home / "containerd.log", env)
    d.wait_for(lambda: sock.exists())
    d.socket = sock
    return d


def dockerd_setup(home: Path, containerd_sock: Path, subnet_cidr: str, exec_opts=()):
    """dockerd on the tests' containerd, in a network namespace of its own (its default bridge
    lives and dies there: no NAT, no route out), hull registered and the default runtime."""
    for d in ("data", "exec"):
        (home / d).mkdir(parents=True, exist_ok=True)
    sock = home / "docker.sock"
    (home / "daemon.json").write_text(json.dumps({
        "runtimes": {"hull": {"path": str(HULL_OCI)}},
        "default-runtime": "hull",
        "iptables": False, "ip-masq": False, "ip-forward": False, "userland-proxy": False,
        "bip": subnet_cidr,
        "storage-driver": "overlay2",
        "log-driver": "json-file",
        "exec-opts": list(exec_opts),
    }))
    argv = ["dockerd", "--config-file", home / "daemon.json", "--data-root", home / "data", "--exec-root",
            home / "exec", "--pidfile", home / "docker.pid", "-H", f"unix://{sock}", "--containerd", containerd_sock,
            "--containerd-namespace", "hull-docker", "--containerd-plugins-namespace", "hull-docker-plugins"]
    d = Daemon("dockerd", argv, home / "dockerd.log", {"PATH": SYSTEM_PATH}, new_netns=True)
    docker = Engine(["/usr/bin/docker", "-H", f"unix://{sock}"], {"PATH": SYSTEM_PATH, "HOME": str(home)}, home)
    d.wait_for(lambda: sock.exists() and docker("version", check=False).returncode == 0, timeout=60)
    d.cli = docker
    return d


def processes_rooted_under(path: Path):
    """Container processes left behind: anything whose root or cwd is inside `path`."""
    left = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            root = os.readlink(p / "root")
        except OSError:
            continue
        if root.startswith(str(path)):
            left.append(f"{p.name} ({root})")
    return left


def unmount_under(path: Path):
    """Mounts a daemon left under its home (overlay snapshots): lazily detached, reported."""
    left = []
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for mp in reversed(points):
        if mp.startswith(str(path)):
            left.append(mp)
            subprocess.run(["umount", "-l", mp], capture_output=True)
    return left


def hull_cgroups_named(fragment):
    found = []
    for h in Path("/sys/fs/cgroup").iterdir():
        for d in h.rglob(f"*{fragment}*") if h.is_dir() else []:
            if d.is_dir():
                found.append(str(d))
    return found


PAUSE_IMAGE = "localhost/pause:hull"


def build_pause_archive(work: Path) -> Path:
    """A pod sandbox image with one static file, /pause (the test helper's `pause` command, as
    Kubernetes' pause image), in an OCI archive tagged PAUSE_IMAGE. No registry needed."""
    return umoci_archive(work, PAUSE_IMAGE, lambda rootfs: shutil.copy2(BUILD / "hull-test-helper", rootfs / "pause"),
                         ["--config.entrypoint", "/pause", "--config.cmd", "pause"])


def containerd_cri_setup(home: Path, runtime_binary, subnet: str, systemd_cgroup=False):
    """containerd with its CRI plugin, as kubelet's node has it with the cgroupfs driver: the
    runc shim (io.containerd.runc.v2) with `runtime_binary` as BinaryName, the local pause image,
    pod networks from Debian's CNI plugins (bridge + host-local; containerd adds loopback) in
    `subnet` (systemd_cgroup: SystemdCgroup = true, kubeadm's default). It runs in a network namespace of its own (lo up for its streaming server), so the
    pods' bridge and veths never touch the host's interfaces, and pod netns files stay under its
    state dir. No CAP_SYS_RESOURCE here: the pause container's oom_score_adj -998 is restricted."""
    for d in ("root", "state", "cni", "cni-ipam", "runtime-root"):
        (home / d).mkdir(parents=True, exist_ok=True)
    sock = home / "containerd.sock"
    (home / "cni" / "10-hull-cri.conflist").write_text(json.dumps({
        "cniVersion": "1.0.0", "name": "hull-cri",
        "plugins": [{"type": "bridge", "bridge": "hullcri0", "isGateway": True, "ipMasq": False,
                     "hairpinMode": True,
                     "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]],
                              "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(home / "cni-ipam")}}]}))
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    (home / "config.toml").write_text(f"""
version = 2
root = "{home}/root"
state = "{home}/state"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[plugins."io.containerd.monitor.v1.cgroups"]
  no_prometheus = true
[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "10010"
  enable_selinux = false
[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "test"
[{cri}.containerd.runtimes.test]
  runtime_type = "io.containerd.runc.v2"
[{cri}.containerd.runtimes.test.options]
  BinaryName = "{runtime_binary}"
  Root = "{home}/runtime-root"
  SystemdCgroup = {"true" if systemd_cgroup else "false"}
[{cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "{home}/cni"
  max_conf_num = 1
""")
    env = {"PATH": SYSTEM_PATH}
    argv = ["sh", "-c", f'ip link set lo up && exec containerd --config "{home}/config.toml"']
    d = Daemon("containerd (CRI)", argv, home / "containerd.log", env, new_netns=True)
    d.wait_for(lambda: sock.exists())
    d.socket = sock
    d.ctr = Engine(["ctr", "--address", sock, "--namespace", "k8s.io"], env, home)
    return d
