"""Container networks (`hull network ...`): bridges, addresses, names, isolation, rules,
published ports, shaping and crash consistency. Every test runs in a network namespace of
its own (the netns fixture) and sends traffic only to container addresses and that
namespace's loopback."""
import json
import os
import signal
import subprocess
import time

import pytest

from nettest import add_binary, wait_for


def serve(c, port, word=None):
    """A TCP server in the container answering every connection with a word."""
    word = word or f"hello-from-{c.id}"
    return c.spawn(f"exec nc -ll -p {port} -e /bin/echo {word}")


def fetch(c, target, port):
    """What a TCP connection from c to target:port reads ('' when it cannot connect)."""
    return c.sh(f"nc -w 1 {target} {port} </dev/null", check=False).stdout.strip()


def wait_serving(c, port):
    assert wait_for(lambda: f":{port} " in c.sh("netstat -ltn").stdout), f"{c.id} does not listen on {port}"


def addr(ns, net, c):
    for entry in ns.inspect(net)["containers"]:
        if entry["name"] == c.id:
            return entry["address"].split("/")[0]
    raise AssertionError(f"{c.id} is not on {net}")


def cleanup(ns, containers, nets):
    for c in containers:
        ns.delete(c)
    for n in nets:
        ns.hull("network", "rm", n)


def test_create_ls_inspect_rm(netns):
    ns = netns
    assert ns.hull("network", "create", "front").stdout.strip() == "front"
    ns.hull("network", "create", "back", "--subnet", "10.123.0.0/24", "--gateway", "10.123.0.254", "--isolated")
    ls = ns.hull("network", "ls").stdout
    assert "front" in ls and "back" in ls and "isolated" in ls
    back = ns.inspect("back")
    assert back["subnet"] == "10.123.0.0/24" and back["gateway"] == "10.123.0.254"
    assert back["isolated"] and not back["internal"] and back["containers"] == []
    front = ns.inspect("front")
    # The bridge exists in the test's namespace, with the gateway address.
    out = ns.run_in("ip", "-j", "addr", "show", "dev", back["bridge"]).stdout
    assert "10.123.0.254" in out
    assert "table inet hull" in ns.nft_tables()
    ns.hull("network", "rm", "front")
    assert front["bridge"] not in ns.links()
    assert "table inet hull" in ns.nft_tables()  # back still needs it
    ns.hull("network", "rm", "back")
    assert ns.links() == {"lo"}
    assert ns.nft_tables() == ""  # gone with the last network
    assert ns.hull("network", "ls", "-q").stdout == ""


@pytest.mark.parametrize("args,words", [
    (["bad/name"], "invalid network name"),
    (["host"], "reserved"),
    (["n", "--subnet", "10.5.0.1/24"], "host bits set"),
    (["n", "--subnet", "nonsense"], "--subnet"),
    (["n", "--subnet", "10.5.0.0/31"], "prefix"),
    (["n", "--subnet", "10.5.0.0/24", "--gateway", "10.6.0.1"], "--gateway 10.6.0.1"),
    (["n", "--gateway", "x"], "--gateway"),
])
def test_create_refuses_bad_input_and_leaves_nothing(netns, args, words):
    p = netns.hull("network", "create", *args, check=False)
    assert p.returncode != 0
    assert words in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert netns.links() == {"lo"} and netns.nft_tables() == ""
    assert netns.hull("network", "ls", "-q").stdout == ""


def test_create_refuses_duplicates_and_overlaps(netns):
    ns = netns
    ns.hull("network", "create", "a", "--subnet", "10.124.0.0/16")
    p = ns.hull("network", "create", "a", check=False)
    assert p.returncode != 0 and "already exists" in p.stderr
    p = ns.hull("network", "create", "b", "--subnet", "10.124.5.0/24", check=False)
    assert p.returncode != 0 and "overlaps network a" in p.stderr
    assert ns.hull("network", "ls", "-q").stdout.split() == ["a"]
    p = ns.hull("network", "rm", "nope", check=False)
    assert p.returncode != 0 and "network nope does not exist" in p.stderr
    ns.hull("network", "rm", "a")


def test_containers_reach_each_other_by_address_and_by_name(netns):
    ns = netns
    ns.hull("network", "create", "web")
    c1, c2 = ns.container("a"), ns.container("b")
    ns.hull("network", "connect", "web", c1.id)
    ns.hull("network", "connect", "web", c2.id, "--alias", "db")
    ip1, ip2 = addr(ns, "web", c1), addr(ns, "web", c2)
    assert c1.addresses()["eth0"].startswith(ip1 + "/")
    assert c1.sh("ip route").stdout.startswith("default via ")
    assert c1.pings(ip2) and c2.pings(ip1)
    # By name and alias: /etc/hosts is hull's, bind-mounted, and lists the peers.
    assert f"{ip2}\t{c2.id} db" in c1.hosts()
    assert c1.pings(c2.id) and c1.pings("db") and c2.pings(c1.id)
    serve(c2, 7000, "pong")
    wait_serving(c2, 7000)
    assert fetch(c1, "db", 7000) == "pong"
    assert fetch(c1, ip2, 7000) == "pong"
    # inspect shows each interface's counters as the container sees them.
    e1 = next(e for e in ns.inspect("web")["containers"] if e["name"] == c1.id)
    rx = int(c1.sh("cat /sys/class/net/eth0/statistics/rx_bytes").stdout)
    assert e1["mac"] == c1.sh("cat /sys/class/net/eth0/address").stdout.strip()
    assert 0 < e1["rx_bytes"] <= rx and e1["tx_packets"] > 2, e1
    # A third container comes: the others' /etc/hosts learn it; it goes: they forget it.
    c3 = ns.container("c")
    ns.hull("network", "connect", "web", c3.id)
    assert c3.id in c1.hosts() and c1.pings(c3.id)
    ns.hull("network", "disconnect", "web", c3.id)
    assert c3.id not in c1.hosts()
    assert "eth0" not in c3.addresses()
    cleanup(ns, [c1, c2, c3], ["web"])


def test_networks_cannot_reach_each_other(netns):
    ns = netns
    ns.hull("network", "create", "red")
    ns.hull("network", "create", "blue")
    r1, r2, b1 = ns.container("r"), ns.container("r"), ns.container("b")
    for c, n in ((r1, "red"), (r2, "red"), (b1, "blue")):
        ns.hull("network", "connect", n, c.id)
    red_gw, blue_gw = ns.inspect("red")["gateway"], ns.inspect("blue")["gateway"]
    ip_b1 = addr(ns, "blue", b1)
    serve(b1, 7001)
    wait_serving(b1, 7001)
    assert r1.pings(addr(ns, "red", r2)) and r1.pings(red_gw)
    assert not r1.pings(ip_b1) and not b1.pings(addr(ns, "red", r1))
    assert fetch(r1, ip_b1, 7001) == ""
    assert not r1.pings(blue_gw)  # not even the other network's gateway
    assert b1.id not in r1.hosts()
    # It is hull's table that separates them (the namespace routes between bridges):
    # without it the flow passes, and the next attach puts the table back.
    ns.run_in("nft", "delete", "table", "inet", "hull")
    assert r1.pings(ip_b1)
    b2 = ns.container("b")
    ns.hull("network", "connect", "blue", b2.id)
    assert "table inet hull" in ns.nft_tables()
    assert not r1.pings(ip_b1)
    cleanup(ns, [r1, r2, b1, b2], ["red", "blue"])


def test_isolated_network_passes_exactly_the_allowed_flows(netns):
    ns = netns
    ns.hull("network", "create", "iso", "--isolated")
    web, db = ns.container("web"), ns.container("db")
    ns.hull("network", "connect", "iso", web.id, "--alias", "web")
    ns.hull("network", "connect", "iso", db.id, "--alias", "db")
    ip_web, ip_db = addr(ns, "iso", web), addr(ns, "iso", db)
    serve(db, 5432, "db-answers")
    serve(db, 6000, "other-port")
    serve(web, 8000, "web-answers")
    wait_serving(db, 6000)
    wait_serving(web, 8000)
    gw = ns.inspect("iso")["gateway"]
    assert web.pings(gw)  # the bridge is there; only container-to-container is cut
    assert not web.pings(ip_db) and not db.pings(ip_web)
    assert fetch(web, "db", 5432) == "" and fetch(db, "web", 8000) == ""

    out = ns.hull("network", "allow", "iso", "web", "db", "tcp/5432").stdout
    assert out.startswith("added rule")
    assert fetch(web, "db", 5432) == "db-answers"
    assert fetch(web, ip_db, 6000) == ""  # another port
    assert not web.pings(ip_db)  # another protocol
    assert fetch(db, "web", 8000) == ""  # the other direction
    rules = ns.hull("network", "rules", "iso").stdout
    assert "allow web -> db tcp/5432" in rules

    # By address, and icmp.
    ns.hull("network", "allow", "iso", ip_db, ip_web, "icmp")
    assert db.pings(ip_web) and not web.pings(ip_db)

    # deny undoes an allow; a deny on top of a broad allow wins.
    assert ns.hull("network", "deny", "iso", "web", "db", "tcp/5432").stdout.startswith("removed rule")
    assert fetch(web, "db", 5432) == ""
    ns.hull("network", "allow", "iso", "web", "db")
    ns.hull("network", "deny", "iso", "web", "db", "tcp/6000")
    assert fetch(web, "db", 5432) == "db-answers" and fetch(web, "db", 6000) == ""
    assert web.pings(ip_db)
    rules = ns.hull("network", "rules", "iso").stdout
    assert "deny web -> db tcp/6000" in rules and "allow web -> db\n" in rules + "\n"
    p = ns.hull("network", "allow", "iso", "web", "db", "gre", check=False)
    assert p.returncode != 0 and "gre" in p.stderr
    cleanup(ns, [web, db], ["iso"])


def test_rules_follow_names_as_containers_come_and_go(netns):
    ns = netns
    ns.hull("network", "create", "iso", "--isolated")
    ns.hull("network", "allow", "iso", "client", "server", "tcp/9000")
    server, client = ns.container("s"), ns.container("c")
    ns.hull("network", "connect", "iso", server.id, "--alias", "server")
    ns.hull("network", "connect", "iso", client.id, "--alias", "client")
    serve(server, 9000, "ok")
    wait_serving(server, 9000)
    assert fetch(client, "server", 9000) == "ok"
    # A new container takes the name: the rule applies to it, not to the old address.
    ns.hull("network", "disconnect", "iso", client.id)
    other = ns.container("o")
    ns.hull("network", "connect", "iso", other.id, "--alias", "client")
    ns.hull("network", "connect", "iso", client.id)
    assert fetch(other, "server", 9000) == "ok"
    assert fetch(client, addr(ns, "iso", server), 9000) == ""
    cleanup(ns, [server, client, other], ["iso"])


def test_internal_network_has_no_route_beyond_the_bridge(netns):
    ns = netns
    # "Beyond": another namespace routed from the test's one, standing in for the world.
    out_ns = f"{ns.name}-out"
    subprocess.run(["ip", "netns", "add", out_ns], check=True)
    try:
        ns.run_in("ip", "link", "add", "hbeyond", "type", "veth", "peer", "name", "eth0", "netns", out_ns)
        ns.run_in("ip", "addr", "add", "192.0.2.1/24", "dev", "hbeyond")
        ns.run_in("ip", "link", "set", "hbeyond", "up")
        subprocess.run(["ip", "-n", out_ns, "addr", "add", "192.0.2.2/24", "dev", "eth0"], check=True)
        subprocess.run(["ip", "-n", out_ns, "link", "set", "eth0", "up"], check=True)
        subprocess.run(["ip", "-n", out_ns, "route", "add", "10.0.0.0/8", "via", "192.0.2.1"], check=True)
        ns.hull("network", "create", "open")
        ns.hull("network", "create", "inner", "--internal")
        o, i1, i2 = ns.container("o"), ns.container("i"), ns.container("i")
        ns.hull("network", "connect", "open", o.id)
        ns.hull("network", "connect", "inner", i1.id)
        ns.hull("network", "connect", "inner", i2.id)
        assert o.pings("192.0.2.2")
        assert i1.pings(addr(ns, "inner", i2))
        assert "default" not in i1.sh("ip route").stdout
        assert not i1.pings("192.0.2.2")
        # Even with a route of its own the way out is closed.
        gw = ns.inspect("inner")["gateway"]
        i1.sh(f"ip route add 192.0.2.0/24 via {gw}", check=False)  # no CAP_NET_ADMIN: may fail
        ns.run_in("nsenter", "-t", str(i1.pid), "-n", "ip", "route", "replace", "192.0.2.0/24", "via", gw)
        assert not i1.pings("192.0.2.2")
        assert not i1.pings("192.0.2.1")  # nor the host's addresses beyond its gateway
        assert i1.pings(gw)
        cleanup(ns, [o, i1, i2], ["open", "inner"])
    finally:
        ns.run_in("ip", "link", "del", "hbeyond", check=False)
        subprocess.run(["ip", "netns", "del", out_ns], check=True)


def test_several_networks_give_several_interfaces(netns):
    ns = netns
    ns.hull("network", "create", "one")
    ns.hull("network", "create", "two")
    multi, a, b = ns.container("m"), ns.container("a"), ns.container("b")
    ns.hull("network", "connect", "one", multi.id)
    assert ns.hull("network", "connect", "two", multi.id).stdout.startswith("eth1 ")
    ns.hull("network", "connect", "one", a.id)
    ns.hull("network", "connect", "two", b.id)
    assert set(multi.addresses()) == {"eth0", "eth1"}
    assert multi.pings(a.id) and multi.pings(b.id)
    assert a.pings(addr(ns, "one", multi)) and b.pings(addr(ns, "two", multi))
    assert not a.pings(addr(ns, "two", b))
    # Only the first network gives the default route.
    assert multi.sh("ip route").stdout.count("default") == 1
    p = ns.hull("network", "connect", "one", multi.id, check=False)
    assert p.returncode != 0 and "already on network one" in p.stderr
    cleanup(ns, [multi, a, b], ["one", "two"])


def test_published_port_answers_on_loopback(netns):
    ns = netns
    ns.hull("network", "create", "pub")
    c = ns.container("web")
    ns.hull("network", "connect", "pub", c.id, "-p", "127.0.0.1:18080:80")
    serve(c, 80, "published")
    wait_serving(c, 80)
    got = ns.run_in("busybox", "nc", "-w", "2", "127.0.0.1", "18080", stdin=subprocess.DEVNULL, check=False)
    assert got.stdout.strip() == "published"
    # One holder per port, and the error names it.
    other = ns.container("other")
    p = ns.hull("network", "connect", "pub", other.id, "-p", "127.0.0.1:18080:80", check=False)
    assert p.returncode != 0 and f"published by container {c.id}" in p.stderr
    assert ns.inspect("pub")["containers"][0]["name"] == c.id  # nothing of other's left
    # A port a host service already holds is refused.
    holder = subprocess.Popen(["ip", "netns", "exec", ns.name, "busybox", "nc", "-l", "-p", "18081"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: ":18081 " in ns.run_in("ss", "-ltn").stdout)
        p = ns.hull("network", "connect", "pub", other.id, "-p", "18081:80", check=False)
        assert p.returncode != 0 and "in use on this host" in p.stderr
    finally:
        holder.kill()
        holder.wait()
    ns.hull("network", "disconnect", "pub", c.id)
    got = ns.run_in("busybox", "nc", "-w", "1", "127.0.0.1", "18080", stdin=subprocess.DEVNULL, check=False)
    assert got.stdout.strip() == ""
    assert "10." not in ns.run_in("nft", "list", "map", "inet", "hull", "ports").stdout
    cleanup(ns, [c, other], ["pub"])


@pytest.fixture(scope="session")
def iperf_rootfs(base_rootfs, tmp_path_factory):
    root = tmp_path_factory.mktemp("iperf") / "rootfs"
    subprocess.run(["cp", "-a", str(base_rootfs), str(root)], check=True)
    add_binary(root, "/usr/bin/iperf3")
    return root


def iperf(client, server_ip, reverse=False, seconds=4):
    # The server runs one test at a time and may still be closing the previous one when the
    # next client connects ("the server is busy", or the connection reset): try again.
    for attempt in range(20):
        out = client.sh(f"iperf3 -J -c {server_ip} -t {seconds}" + (" -R" if reverse else ""),
                        timeout=seconds + 20, check=False).stdout
        result = json.loads(out)
        error = result.get("error", "")
        if not ("server is busy" in error or "reset by peer" in error) or attempt == 19:
            break
        time.sleep(0.25)
    assert "error" not in result, f"iperf3 in {client.id}: {result['error']}"
    return result["end"]["sum_received"]["bits_per_second"] / 1e6


def test_net_rate_shapes_both_directions(netns, iperf_rootfs):
    ns = netns
    ns.hull("network", "create", "bw")
    shaped = ns.container("shaped", rootfs=iperf_rootfs)
    free = ns.container("free", rootfs=iperf_rootfs)
    server = ns.container("server", rootfs=iperf_rootfs)
    ns.hull("network", "connect", "bw", shaped.id, "--net-rate", "10mbit")
    ns.hull("network", "connect", "bw", free.id)
    ns.hull("network", "connect", "bw", server.id)
    ip = addr(ns, "bw", server)
    assert ns.inspect("bw")["containers"][0]["rate"] == "10mbit"
    server.spawn("exec iperf3 -s")
    wait_serving(server, 5201)
    up = iperf(shaped, ip)
    down = iperf(shaped, ip, reverse=True)
    unshaped = iperf(free, ip)
    assert 8.0 <= up <= 12.0, f"egress {up:.1f} Mbit/s with --net-rate 10mbit"
    assert 8.0 <= down <= 12.0, f"ingress {down:.1f} Mbit/s with --net-rate 10mbit"
    assert unshaped > 100, f"unshaped {unshaped:.1f} Mbit/s"
    # Changed live (hull update --net-rate), then removed: the ifb goes with it.
    assert ns.hull("network", "shape", shaped.id, "20mbit").stdout.split() == [shaped.id, "20mbit"]
    assert ns.inspect("bw")["containers"][0]["rate"] == "20mbit"
    up = iperf(shaped, ip, seconds=3)
    assert 16.0 <= up <= 24.0, f"egress {up:.1f} Mbit/s after shape 20mbit"
    ns.hull("network", "shape", shaped.id, "none")
    assert "rate" not in ns.inspect("bw")["containers"][0]
    assert not any(l.startswith("hs") for l in ns.links()), ns.links()
    up = iperf(shaped, ip, seconds=2)
    assert up > 100, f"egress {up:.1f} Mbit/s after shape none"
    for args, words in ((["nobody", "1mbit"], "container nobody is on no hull network"),
                        ([shaped.id, "fast"], 'rate "fast"'),
                        ([shaped.id, "none", "--net-burst", "32k"], "--net-burst")):
        p = ns.hull("network", "shape", *args, check=False)
        assert p.returncode != 0 and words in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    cleanup(ns, [shaped, free, server], ["bw"])


def test_leases_survive_hull_killed_mid_create_and_are_reclaimed(netns):
    ns = netns
    ns.hull("network", "create", "crash", "--subnet", "10.125.0.0/24")
    c = ns.container("c")
    leases = ns.state_dir / "networks" / "crash" / "leases"
    interrupted = 0
    for attempt in range(40):
        # Kill at a different point each time: 0 to ~8 ms after the lease appears.
        delay = (attempt % 9) / 1000
        p = subprocess.Popen(ns.hull_cmd("network", "connect", "crash", c.id), env=ns.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen = None
        while p.poll() is None:
            names = [n for n in os.listdir(leases) if ".tmp" not in n]
            if names:
                seen = names[0]
                time.sleep(delay)
                p.send_signal(signal.SIGKILL)
                break
        p.wait()
        if seen is None or not (leases / seen).exists():
            continue
        lease = json.loads((leases / seen).read_text())
        if lease["attached"]:
            ns.hull("network", "disconnect", "crash", c.id)  # hull finished first
            continue
        interrupted += 1
        # The lease survived the kill, naming its dead owner (nsenter execs hull: same pid).
        assert lease["container"] == c.id and lease["pid"] == p.pid
        # The next look at the network reclaims it and whatever it had made.
        assert ns.inspect("crash")["containers"] == []
        assert not (leases / seen).exists()
        assert not any(l.startswith(("hv", "hs")) for l in ns.links()), ns.links()
        assert not (ns.state_dir / "networks" / ".containers" / c.id / "crash.net").exists()
        assert [n for n in os.listdir(leases) if ".tmp" in n] == []
        if interrupted >= 5:
            break
    assert interrupted >= 5, "hull always finished before it could be killed"
    # The address is free again, and the container can join for real.
    ns.hull("network", "connect", "crash", c.id, "--ip", "10.125.0.2")
    assert c.pings(ns.inspect("crash")["gateway"])
    cleanup(ns, [c], ["crash"])


def test_leases_are_freed_when_containers_go(netns):
    ns = netns
    ns.hull("network", "create", "small", "--subnet", "10.126.0.0/29")  # 5 addresses after the gateway
    cs = [ns.container("c") for _ in range(5)]
    for c in cs:
        ns.hull("network", "connect", "small", c.id)
    extra = ns.container("x")
    p = ns.hull("network", "connect", "small", extra.id, check=False)
    assert p.returncode != 0 and "no free address" in p.stderr
    # A container that dies without anyone disconnecting it gives its address back.
    gone = cs.pop(2)
    ip_gone = addr(ns, "small", gone)
    ns.delete(gone)
    assert ns.hull("network", "connect", "small", extra.id).stdout.split()[1] == ip_gone + "/29"
    p = ns.hull("network", "rm", "small", check=False)
    assert p.returncode != 0 and "in use by" in p.stderr
    cleanup(ns, cs + [extra], ["small"])


def test_default_network_on_first_use_and_after_a_reboot(netns):
    ns = netns
    c1 = ns.container("a")
    ifname, address = ns.hull("network", "connect", "hull0", c1.id).stdout.split()
    default = ns.inspect("hull0")
    assert ifname == "eth0" and default["subnet"] == "10.88.0.0/16" and address.startswith("10.88.")
    assert c1.pings(default["gateway"])
    ns.delete(c1)
    # A reboot: the bridge and hull's table are gone, the definition is not. The next
    # container to join brings both back.
    ns.run_in("ip", "link", "del", default["bridge"])
    ns.run_in("nft", "delete", "table", "inet", "hull")
    c2 = ns.container("b")
    ns.hull("network", "connect", "hull0", c2.id)
    assert default["bridge"] in ns.links() and "table inet hull" in ns.nft_tables()
    assert c2.pings(default["gateway"])
    cleanup(ns, [c2], ["hull0"])


def ifb_links(ns=None):
    cmd = ["ip", "-j", "link", "show", "type", "ifb"]
    out = (ns.run_in(*cmd) if ns else subprocess.run(cmd, capture_output=True, text=True, check=True)).stdout
    return {l["ifname"] for l in json.loads(out or "[]")}


def test_ingress_ifb_is_hulls_own_in_its_namespace(netns):
    """--net-rate's ingress ifb is created by hull over netlink in the namespace hull runs in,
    named after the lease, and goes with the shaping; no ifb appears in the host's namespace
    (the host's own ifb0/ifb1, where there are any, are the built-in driver's boot devices)."""
    ns = netns
    host_before = ifb_links()
    ns.hull("network", "create", "ifbnet")
    c = ns.container("shaped")
    assert ifb_links(ns) == set()
    ns.hull("network", "connect", "ifbnet", c.id, "--net-rate", "10mbit")
    made = ifb_links(ns)
    assert len(made) == 1 and next(iter(made)).startswith("hs"), made
    assert ifb_links() == host_before
    ns.hull("network", "shape", c.id, "none")
    assert ifb_links(ns) == set()
    cleanup(ns, [c], ["ifbnet"])
    assert ifb_links() == host_before
