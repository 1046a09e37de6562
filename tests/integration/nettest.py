"""Network tests run inside a network namespace of the test's own: hull (and everything it
creates: bridges, veths, ifbs, hull's nftables table) lives there, so the host's interfaces
are never touched, and traffic goes only to container addresses and that namespace's
loopback."""
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from hulltest import HULL, HULL_OCI, Bundle


def host_links():
    out = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout
    return {l["ifname"] for l in json.loads(out)}


def add_binary(rootfs: Path, path: str):
    """Copies a dynamically linked program and the libraries it loads into a rootfs."""
    files = [path]
    out = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
            files.append(parts[2])
        elif parts and parts[0].startswith("/"):
            files.append(parts[0])
    for f in files:
        dest = rootfs / f.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(f), dest)


class Container:
    """An OCI container (hull-oci run -d) started inside the test's namespace."""

    def __init__(self, ns, cid, pid):
        self.ns, self.id, self.pid = ns, cid, pid

    def sh(self, script, check=True, timeout=30, **kw):
        """Runs a shell command inside the container (its namespaces and root)."""
        cmd = ["nsenter", "-t", str(self.pid), "-n", "-m", "-u", "-i", "-p", "-r", "-w", "/bin/sh", "-c", script]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"{self.id}: {script!r} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def spawn(self, script):
        """Starts a long-running command inside the container; returns the Popen."""
        cmd = ["nsenter", "-t", str(self.pid), "-n", "-m", "-u", "-i", "-p", "-r", "-w", "/bin/sh", "-c", script]
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def pings(self, target, count=1):
        return self.sh(f"ping -c {count} -W 1 {target}", check=False).returncode == 0

    def tcp_connects(self, target, port, timeout=2):
        """True when a TCP connection to target:port is accepted (nc -z)."""
        return self.sh(f"nc -z -w {timeout} {target} {port}", check=False).returncode == 0

    def hosts(self):
        return self.sh("cat /etc/hosts").stdout

    def addresses(self):
        out = self.sh("ip -o -4 addr show").stdout
        return {l.split()[1]: l.split()[3] for l in out.splitlines() if l.split()[1] != "lo"}


class NetNS:
    def __init__(self, hull, tmp: Path, bundle_factory):
        self.h = hull
        self.name = f"hull-{hull.prefix}"
        self.state_dir = tmp / "lib"
        self.bundle_factory = bundle_factory
        self.containers = []
        self.host_links_before = host_links()
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.run_in("ip", "link", "set", "lo", "up")
        # Routing on, as on any host that runs containers: isolation between networks must
        # come from hull's rules, not from a host that forwards nothing.
        self.run_in("sysctl", "-qw", "net.ipv4.ip_forward=1")

    @property
    def env(self):
        return dict(os.environ, HULL_STATE=str(self.state_dir))

    def run_in(self, *cmd, check=True, timeout=60, **kw):
        """A host command inside the namespace (ip, nft, wget ... for observing)."""
        p = subprocess.run(["ip", "netns", "exec", self.name, *map(str, cmd)], capture_output=True, text=True,
                           timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, cmd))} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def hull_cmd(self, *args):
        return ["nsenter", f"--net=/run/netns/{self.name}", str(HULL), "--root", str(self.h.root),
                *map(str, args)]

    def hull(self, *args, check=True, timeout=60):
        p = subprocess.run(self.hull_cmd(*args), capture_output=True, text=True, timeout=timeout, env=self.env)
        if check and p.returncode != 0:
            raise AssertionError(f"hull {' '.join(map(str, args))} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def inspect(self, net):
        return json.loads(self.hull("network", "inspect", net).stdout)[0]

    def container(self, name="c", args=("sleep", "3600"), rootfs=None, hosts_mount=True):
        """Starts a container with its own (empty) network namespace, CAP_NET_RAW for ping, and
        /etc/hosts bind-mounted from where hull keeps it, as `hull run` does."""
        cid = self.h.new_id(name)
        b = self.bundle_factory(list(args)) if rootfs is None else Bundle.create(
            self.state_dir.parent / f"bundle-{uuid.uuid4().hex[:6]}", rootfs, args=list(args))
        caps = b.process["capabilities"]
        for k in ("bounding", "effective", "permitted"):
            caps[k] = sorted(set(caps[k]) | {"CAP_NET_RAW"})
        if hosts_mount:
            hosts = self.state_dir / "networks" / ".containers" / cid / "hosts"
            hosts.parent.mkdir(parents=True, exist_ok=True)
            hosts.touch()
            b.config["mounts"].append({"destination": "/etc/hosts", "type": "bind", "source": str(hosts),
                                       "options": ["bind", "ro"]})
        # iperf3 keeps its buffers in a file under /tmp; the root file system is read-only.
        b.config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                                   "options": ["nosuid", "nodev", "mode=1777"]})
        b.save()
        cmd = ["nsenter", f"--net=/run/netns/{self.name}", str(HULL_OCI), "--root", str(self.h.root), "run", "-d",
               "--bundle", str(b.path), cid]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        st = self.h.state(cid)
        c = Container(self, cid, st["pid"])
        self.containers.append(c)
        return c

    def delete(self, c):
        self.h.oci("delete", "--force", c.id)
        self.containers.remove(c)
        # The empty hosts file container() made for a container hull never attached is the
        # test's own; anything else there is hull's and must be gone by now.
        d = self.state_dir / "networks" / ".containers" / c.id
        if d.exists() and [p.name for p in d.iterdir()] == ["hosts"] and (d / "hosts").stat().st_size == 0:
            (d / "hosts").unlink()
            d.rmdir()

    def links(self):
        out = self.run_in("ip", "-j", "link").stdout
        return {l["ifname"] for l in json.loads(out)}

    def nft_tables(self):
        return self.run_in("nft", "list", "tables").stdout.strip()

    def leftovers(self):
        left = [f"link {l}" for l in sorted(self.links() - {"lo"})]
        tables = self.nft_tables()
        if tables:
            left.append(f"nftables {tables!r}")
        nets = self.state_dir / "networks"
        if nets.exists():
            left += [f"network {p.name}" for p in nets.iterdir() if not p.name.startswith(".")]
            cdir = nets / ".containers"
            if cdir.exists():
                left += [f"network files of {p.name}" for p in cdir.iterdir()]
        return left

    def force_cleanup(self):
        for c in list(self.containers):
            subprocess.run([str(HULL_OCI), "--root", str(self.h.root), "delete", "--force", c.id],
                           capture_output=True, timeout=30)
        nets = self.state_dir / "networks"
        if nets.exists():
            for p in nets.glob("*.json"):
                self.hull("network", "rm", p.stem, check=False)

    def destroy(self):
        subprocess.run(["ip", "netns", "del", self.name], check=True)
        left = []
        if Path(f"/run/netns/{self.name}").exists():
            left.append(f"netns {self.name}")
        new = {l for l in host_links() - self.host_links_before if l.startswith(("hv", "hs", "hull"))}
        left += [f"host link {l}" for l in sorted(new)]
        return left


def wait_for(pred, timeout=30.0, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()
