"""`hull run --network NAME` and friends: the friendly face on hull's networks. Each test runs
hull inside a network namespace of its own (nettest.NetNS) with friendly state of its own, so
bridges, veths and hull's nftables table live there; traffic goes only to container addresses
and that namespace's loopback."""
import json
import re
import subprocess

import pytest

from hulltest import HULL
from nettest import wait_for


class FriendlyNet:
    """The friendly face run inside the test's network namespace."""

    def __init__(self, friendly, ns):
        self.f, self.ns = friendly, ns

    def __call__(self, *args, check=True, timeout=60):
        cmd = ["nsenter", f"--net=/run/netns/{self.ns.name}", str(HULL), *map(str, args)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=self.f.env,
                           stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError(f"hull {' '.join(map(str, args))} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def detach(self, *args):
        cid = self("run", "-d", *args).stdout.strip()
        assert re.fullmatch(r"[0-9a-f]{64}", cid), cid
        return cid

    def sh(self, ref, script, check=True, timeout=30):
        """A shell command in the container's namespaces and root (what `hull exec` will do)."""
        pid = self.inspect(ref)["pid"]
        assert pid > 0, f"{ref} does not run"
        cmd = ["nsenter", "-t", str(pid), "-n", "-m", "-u", "-i", "-p", "-r", "-w", "/bin/sh", "-c", script]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"{ref}: {script!r} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def pings(self, ref, target):
        return self.sh(ref, f"busybox ping -c 1 -W 1 {target}", check=False).returncode == 0

    def fetch(self, ref, target, port):
        return self.sh(ref, f"busybox nc -w 1 {target} {port} </dev/null", check=False).stdout.strip()

    def inspect(self, ref):
        found = json.loads(self("inspect", "--json", ref).stdout)
        assert len(found) == 1, found
        return found[0]

    def address(self, ref, network):
        return next(n["address"].split("/")[0] for n in self.inspect(ref)["networks"] if n["network"] == network)

    def cleanup(self):
        ids = self("ps", "-aq", check=False).stdout.split()
        if ids:
            self("rm", "-f", *ids, check=False)
        for n in self("network", "ls", "-q", check=False).stdout.split():
            self("network", "rm", n, check=False)


@pytest.fixture
def fnet(friendly, netns):
    h = FriendlyNet(friendly, netns)
    yield h
    h.cleanup()


def serve(h, name, network, port, word, *flags):
    """A detached container answering every TCP connection on port with a word."""
    h.detach("--name", name, "--network", network, *flags, "host", "busybox", "nc", "-ll", "-p", port, "-e", "/bin/echo",
             word)
    assert wait_for(lambda: f":{port} " in h.sh(name, "busybox netstat -ltn").stdout), f"{name} does not listen"


def test_containers_on_a_network_reach_each_other_and_no_one_else(fnet):
    h = fnet
    h("network", "create", "web")
    h("network", "create", "other")
    serve(h, "a", "web", 7000, "from-a", "--network-alias", "api")
    h.detach("--name", "b", "--network", "web", "host", "sleep", "600")
    h.detach("--name", "c", "--network", "other", "host", "sleep", "600")
    ip_a, ip_b = h.address("a", "web"), h.address("b", "web")
    # By address and by name (its name, alias and host name are in the peers' /etc/hosts).
    assert h.pings("b", ip_a) and h.pings("a", ip_b)
    assert h.pings("b", "a") and h.pings("a", "b")
    hosts = h.sh("b", "cat /etc/hosts").stdout
    assert re.search(rf"^{re.escape(ip_a)}\ta api ", hosts, re.M), hosts
    assert h.fetch("b", "api", 7000) == "from-a"
    assert h.sh("b", "ip route").stdout.startswith("default via ")
    assert h.sh("b", "cat /etc/resolv.conf").stdout.startswith("# written by hull")
    # Another network: nothing gets through, not even the name.
    assert not h.pings("c", ip_a) and h.fetch("c", ip_a, 7000) == ""
    assert "\ta " not in h.sh("c", "cat /etc/hosts").stdout
    # A container started without a network joins later by its friendly name.
    h.detach("--name", "late", "host", "sleep", "600")
    h("network", "connect", "web", "late")
    assert h.pings("late", "a") and "late" in h.sh("a", "cat /etc/hosts").stdout
    # inspect and stats count what the container's interface saw.
    net = h.inspect("b")["networks"]
    assert [(n["network"], n["interface"], n["address"].split("/")[0]) for n in net] == [("web", "eth0", ip_b)]
    rx = int(h.sh("b", "cat /sys/class/net/eth0/statistics/rx_bytes").stdout)
    assert 0 < net[0]["rxBytes"] <= rx and net[0]["hostInterface"] in h.ns.links()
    assert "eth0 on web: " + ip_b in h("inspect", "b").stdout
    stats = {s["name"]: s for s in json.loads(h("stats", "--no-stream", "--format", "json", "a", "b").stdout)}
    assert stats["b"]["netRx"] >= net[0]["rxBytes"] and stats["b"]["netTx"] > 0
    ps = {c["name"]: c for c in json.loads(h("ps", "--json").stdout)}
    assert ps["a"]["networks"] == ["web"]
    h("rm", "-f", "a", "b", "c", "late")
    # Their leases and veths are gone: the networks can go.
    assert h.ns.inspect("web")["containers"] == []
    h("network", "rm", "web", "other")
    assert h.ns.links() == {"lo"}


def test_published_port_answers_on_loopback(fnet):
    h = fnet
    h("network", "create", "pub")
    serve(h, "web", "pub", 80, "published", "-p", "127.0.0.1:18080:80")
    got = h.ns.run_in("busybox", "nc", "-w", "2", "127.0.0.1", "18080", stdin=subprocess.DEVNULL, check=False)
    assert got.stdout.strip() == "published"
    assert json.loads(h("ps", "--json").stdout)[0]["ports"] == ["127.0.0.1:18080:80"]
    assert h.inspect("web")["networks"][0]["ports"] == ["127.0.0.1:18080->80/tcp"]
    # docker's forms: ps's PORTS, `hull port`, inspect's NetworkSettings
    table = h("ps").stdout.splitlines()
    assert table[1].rstrip().endswith("127.0.0.1:18080->80/tcp"), table
    assert h("ps", "--format", "{{.Names}} {{.Ports}}").stdout == "web 127.0.0.1:18080->80/tcp\n"
    assert h("port", "web").stdout == "80/tcp -> 127.0.0.1:18080\n"
    assert h("port", "web", "80").stdout == "127.0.0.1:18080\n"
    p = h("port", "web", "81/udp", check=False)
    assert p.returncode == 1 and p.stderr == 'hull: no public port "81/udp" published for web\n'
    ip = h.inspect("web")["networks"][0]["address"].split("/")[0]
    assert h("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web").stdout == ip + "\n"
    assert h("inspect", "-f", "{{json .NetworkSettings.Ports}}", "web").stdout == \
        '{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"18080"}]}\n'
    assert h("ps", "--filter", "network=pub", "--format", "{{.Names}}").stdout == "web\n"
    assert h("ps", "--filter", "network=other", "--format", "{{.Names}}").stdout == ""
    # A second container cannot take the port; it leaves nothing behind.
    p = h("run", "-d", "--name", "dup", "--network", "pub", "-p", "127.0.0.1:18080:80", "host", "sleep", "60", check=False)
    assert p.returncode == 125 and "published by container" in p.stderr, p.stderr
    assert [c["name"] for c in json.loads(h("ps", "-a", "--json").stdout)] == ["web"]
    h("rm", "-f", "web")
    got = h.ns.run_in("busybox", "nc", "-w", "1", "127.0.0.1", "18080", stdin=subprocess.DEVNULL, check=False)
    assert got.stdout.strip() == ""
    h("network", "rm", "pub")


@pytest.mark.parametrize("flags,words", [
    (["--network", "nosuch"], '--network "nosuch": unknown network'),
    (["--network", "bad/name"], "--network \"bad/name\""),
    (["--network", "none", "--network", "web"], "cannot be combined"),
    (["--network", "web", "--network", "web"], "--network web: given twice"),
    (["--network", "web", "--ip", "10.200.9.9"], "10.200.9.9"),
    (["--network", "web", "--ip", "ten"], "--ip \"ten\""),
    (["--network", "web", "-p", "127.0.0.1:99999:80"], "-p 127.0.0.1:99999:80"),
    (["--network", "web", "-p", "80"], "-p 80"),
    (["--network", "web", "--net-rate", "fast"], "--net-rate \"fast\""),
    (["--ip", "10.200.0.9"], "--ip: needs a hull network"),
])
@pytest.mark.parametrize("detach", [True, False], ids=["detached", "foreground"])
def test_bad_network_values_leave_nothing(fnet, flags, words, detach):
    h = fnet
    h("network", "create", "web", "--subnet", "10.200.0.0/24")
    bridge = h.ns.inspect("web")["bridge"]
    p = h("run", *(["-d"] if detach else ["--rm"]), "--name", "bad", *flags, "host", "true", check=False)
    assert p.returncode == 125, (p.returncode, p.stderr)
    assert words in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert h("ps", "-aq").stdout == ""
    assert h.ns.inspect("web")["containers"] == []
    assert h.ns.links() == {"lo", bridge}
    leases = h.ns.state_dir / "networks" / "web" / "leases"
    assert not leases.exists() or list(leases.iterdir()) == []
    assert not (h.ns.state_dir / "networks" / ".containers").exists() or \
        list((h.ns.state_dir / "networks" / ".containers").iterdir()) == []
    h("network", "rm", "web")


def test_rm_stop_and_start_free_and_take_the_lease_again(fnet):
    h = fnet
    h("network", "create", "small", "--subnet", "10.201.0.0/29")
    # The foreground: it has its address while it runs, nothing after --rm.
    out = h("run", "--rm", "--network", "small", "--ip", "10.201.0.5", "host", "ip", "-o", "-4", "addr", "show", "eth0").stdout
    assert "10.201.0.5/29" in out
    assert h.ns.inspect("small")["containers"] == [] and h.ns.links() == {"lo", h.ns.inspect("small")["bridge"]}
    h.detach("--name", "s", "--network", "small", "--ip", "10.201.0.5", "host", "sleep", "600")
    veth = h.inspect("s")["networks"][0]["hostInterface"]
    assert veth in h.ns.links()
    h("stop", "-t", "1", "s")
    assert h.ns.inspect("small")["containers"] == [] and veth not in h.ns.links()
    assert h.inspect("s")["networks"] == []
    h("start", "s")  # the same networks again
    assert h.address("s", "small") == "10.201.0.5" and h.pings("s", h.ns.inspect("small")["gateway"])
    h("rm", "-f", "s")
    assert h.ns.inspect("small")["containers"] == [] and veth not in h.ns.links()
    h("network", "rm", "small")


def iperf_mbit(h, ref, server, seconds=2):
    out = h.sh(ref, f"iperf3 -J -c {server} -t {seconds}", timeout=seconds + 20).stdout
    r = json.loads(out)
    assert "error" not in r, r["error"]
    return r["end"]["sum_received"]["bits_per_second"] / 1e6


def test_net_rate_shapes_and_update_changes_it_live(fnet):
    h = fnet
    h("network", "create", "bw")
    h.detach("--name", "server", "--network", "bw", "host", "iperf3", "-s")
    assert wait_for(lambda: ":5201 " in h.sh("server", "busybox netstat -ltn").stdout)
    ip = h.address("server", "bw")
    h.detach("--name", "shaped", "--network", "bw", "--net-rate", "10mbit", "host", "sleep", "600")
    assert h.inspect("shaped")["networks"][0]["rate"] == "10mbit"
    up = iperf_mbit(h, "shaped", ip)
    assert 8.0 <= up <= 12.0, f"{up:.1f} Mbit/s with --net-rate 10mbit"
    h("update", "--net-rate", "20mbit", "shaped")
    up = iperf_mbit(h, "shaped", ip)
    assert 16.0 <= up <= 24.0, f"{up:.1f} Mbit/s after update --net-rate 20mbit"
    h("update", "--net-rate", "none", "shaped")
    assert h.inspect("shaped")["networks"][0]["rate"] == ""
    assert iperf_mbit(h, "shaped", ip, seconds=1) > 100
    p = h("update", "--net-rate", "fast", "shaped", check=False)
    assert p.returncode != 0 and '--net-rate "fast"' in p.stderr
    h("rm", "-f", "server", "shaped")
    h("network", "rm", "bw")


def test_two_networks_in_order_with_the_default_route_on_the_first_not_internal(fnet):
    # What was a root-only unit test of reserve/attach/detach_all, now through `hull run`.
    h = fnet
    h("network", "create", "a", "--subnet", "10.99.1.0/24")
    h("network", "create", "b", "--subnet", "10.99.2.0/24", "--internal")
    bridges = {h.ns.inspect(n)["bridge"] for n in ("a", "b")}
    h.detach("--name", "web", "--network", "b", "--ip", "10.99.2.7", "--network-alias", "x",
             "--network", "a", "host", "sleep", "600")
    addrs = h.sh("web", "ip -o -4 addr show").stdout
    assert re.search(r"eth0\s+inet 10\.99\.2\.7/24", addrs), addrs  # --ip: the first network's
    assert re.search(r"eth1\s+inet 10\.99\.1\.\d+/24", addrs), addrs
    # One default route, through a (b is internal), though b is eth0.
    routes = h.sh("web", "cat /proc/net/route").stdout
    defaults = [line.split()[0] for line in routes.splitlines()[1:] if line.split()[1] == "00000000"]
    assert defaults == ["eth1"], routes
    hosts = h.sh("web", "cat /etc/hosts").stdout
    assert re.search(r"^10\.99\.2\.7\s.*\bweb\b", hosts, re.M) and re.search(r"\bx\b", hosts), hosts
    # A run that fails after its addresses were reserved gives them back.
    p = h("run", "--rm", "--network", "a", "host", "/no/such/program", check=False)
    assert p.returncode == 127, p.stderr
    assert [c["name"] for c in h.ns.inspect("a")["containers"]] == ["web"]
    h("rm", "-f", "web")
    assert h.ns.links() == {"lo"} | bridges
    assert h.ns.inspect("a")["containers"] == [] and h.ns.inspect("b")["containers"] == []
    h("network", "rm", "a", "b")


def test_resolv_conf_on_a_host_with_a_loopback_resolver(fnet, tmp_path):
    """A host whose /etc/resolv.conf names only systemd-resolved's stub (127.0.0.53): containers
    on a network get the upstream servers of /run/systemd/resolve/resolv.conf (docker's rule);
    without that file, docker's defaults 8.8.8.8 and 8.8.4.4, said so in a comment; an
    --internal network none. The host's files are faked in a private mount namespace."""
    h = fnet
    h("network", "create", "web")
    h("network", "create", "--internal", "closed")
    stub = tmp_path / "stub-resolv.conf"
    stub.write_text("nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n")
    upper, work = tmp_path / "run-upper", tmp_path / "run-work"
    (upper / "systemd" / "resolve").mkdir(parents=True)
    work.mkdir()
    (upper / "systemd" / "resolve" / "resolv.conf").write_text("nameserver 192.0.2.7\nnameserver 192.0.2.8\nsearch lan\n")

    def resolv_in_container(network, systemd):
        script = f"set -e; mount --bind {stub} /etc/resolv.conf; "
        if systemd:
            script += f"mount -t overlay overlay -o lowerdir=/run,upperdir={upper},workdir={work} /run; "
        script += f"exec {HULL} run --rm --network {network} host cat /etc/resolv.conf"
        cmd = ["nsenter", f"--net=/run/netns/{h.ns.name}", "unshare", "--mount", "--propagation", "private",
               "sh", "-c", script]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=h.f.env, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stderr
        return [l for l in p.stdout.splitlines() if not l.startswith("#")], p.stdout

    lines, _ = resolv_in_container("web", True)
    assert lines == ["nameserver 192.0.2.7", "nameserver 192.0.2.8", "search lan"]
    lines, text = resolv_in_container("web", False)
    assert lines == ["options edns0 trust-ad", "search lan", "nameserver 8.8.8.8", "nameserver 8.8.4.4"]
    assert "docker's defaults" in text
    lines, _ = resolv_in_container("closed", True)
    assert not [l for l in lines if l.startswith("nameserver")]
