// reserve() + attach() + detach_all() as `hull run --network a --network b` uses them, against
// the real kernel: run in a child process inside a network namespace of its own (as root),
// so nothing of the host is touched and everything goes with the namespace.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include "net/network.h"
#include "util/fs.h"
#include "util/proc.h"

using namespace hull::net;

namespace {

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

// A stand-in for a created container: a process waiting in a network namespace of its own.
pid_t container_process() {
  int p[2];
  check(::pipe(p) == 0, "pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the test
    char ok = ::unshare(CLONE_NEWNET) == 0 ? '1' : '0';
    (void)!::write(p[1], &ok, 1);
    for (;;) ::pause();
  }
  char c = 0;
  (void)!::read(p[0], &c, 1);
  ::close(p[0]);
  ::close(p[1]);
  check(c == '1', "unshare(CLONE_NEWNET) in the container process");
  return pid;
}

std::string address_of(const std::vector<InterfaceInfo>& ifs, const std::string& name) {
  for (const auto& i : ifs)
    if (i.name == name && !i.addresses.empty()) return i.addresses[0];
  return "";
}

void two_networks(const std::string& dir) {
  check(::unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET)");
  Netlink().set_up("lo");
  Networks nets(dir);
  CreateOptions a, b;
  a.name = "a";
  a.subnet = "10.99.1.0/24";
  b.name = "b";
  b.subnet = "10.99.2.0/24";
  b.internal = true;
  nets.create(a);
  nets.create(b);

  pid_t pid = container_process();
  uint64_t start = hull::read_proc_stat(pid)->start_time;
  AttachRequest req;
  req.container = "0123abcd";
  req.name = "web";
  req.endpoints = {{"b", "", {"x"}}, {"a", "10.99.1.7", {}}};
  {
    Reservation r = nets.reserve(req);
    check(r.attachments().size() == 2, "two attachments");
    check(!r.resolv_path().empty(), "a resolv.conf to bind-mount");
    auto hosts = hull::read_file_if_exists(r.hosts_path()).value_or("");
    check(hosts.find("10.99.1.7\tweb") != std::string::npos, "own name in /etc/hosts: " + hosts);
    nets.attach(r, pid, start);
  }
  auto ifs = container_interfaces(pid, start);
  check(address_of(ifs, "eth0").rfind("10.99.2.", 0) == 0, "eth0 on b: " + address_of(ifs, "eth0"));
  check(address_of(ifs, "eth1") == "10.99.1.7/24", "eth1 on a: " + address_of(ifs, "eth1"));
  // The default route goes via the first network that is not internal: a, on eth1
  // (/proc/PID/net/route is that process's namespace: "Iface Destination Gateway ...").
  std::string routes =
      hull::read_file_if_exists("/proc/" + std::to_string(pid) + "/net/route").value_or("");
  check(routes.find("eth1\t00000000\t") != std::string::npos &&
            routes.find("eth0\t00000000\t") == std::string::npos,
        "one default route, on eth1: " + routes);
  for (const auto& at : nets.attachments(req.container))
    check(at.lease.default_route == (at.network == "a"), "default route flag on " + at.network);

  // A reservation dropped before attach (a failed create) gives its address back.
  AttachRequest other;
  other.container = "4567ef";
  other.endpoints = {{"a", "", {}}};
  { Reservation dropped = nets.reserve(other); }
  check(nets.inspect("a").leases.size() == 1, "the dropped reservation's lease is gone");

  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  nets.detach_all(req.container);
  for (const auto& i : Netlink().interfaces())
    check(i.name.rfind("hv", 0) != 0 && i.name.rfind("hs", 0) != 0, "left behind: " + i.name);
  check(nets.inspect("a").leases.empty() && nets.inspect("b").leases.empty(), "leases freed");
  nets.remove("a");
  nets.remove("b");
}

}  // namespace

TEST(NetAttach, TwoNetworksAsHullRunUsesThem) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
  char tmpl[] = "/tmp/hull-net-attach-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  pid_t child = ::fork();
  if (child == 0) {
    try {
      two_networks(dir);
      ::_exit(0);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "NetAttach: %s\n", e.what());
      ::_exit(1);
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  hull::remove_all(dir);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}
