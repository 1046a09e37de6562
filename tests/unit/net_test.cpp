#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

#include "net/addr.h"
#include "net/hosts.h"
#include "net/ipam.h"
#include "net/options.h"
#include "net/policy.h"
#include "net/shaping.h"
#include "net/store.h"
#include "util/error.h"
#include "util/fs.h"

using namespace hull::net;
using hull::Error;

TEST(NetAddr, ParsesAndPrints) {
  EXPECT_EQ(Ipv4::parse("10.88.0.5")->str(), "10.88.0.5");
  EXPECT_FALSE(Ipv4::parse("10.88.0"));
  EXPECT_FALSE(Ipv4::parse("10.88.0.256"));
  EXPECT_FALSE(Ipv4::parse("010.1.1.1"));
  auto s = Subnet::parse("10.89.3.0/24");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->str(), "10.89.3.0/24");
  EXPECT_EQ(s->size(), 256u);
  EXPECT_EQ(s->first_host().str(), "10.89.3.1");
  EXPECT_EQ(s->last_host().str(), "10.89.3.254");
  EXPECT_TRUE(s->is_host(*Ipv4::parse("10.89.3.7")));
  EXPECT_FALSE(s->is_host(*Ipv4::parse("10.89.3.255")));
  EXPECT_FALSE(s->is_host(*Ipv4::parse("10.89.3.0")));
  EXPECT_FALSE(Subnet::parse("10.89.3.1/24"));  // host bits set
  EXPECT_FALSE(Subnet::parse("10.89.3.0/33"));
  EXPECT_TRUE(Subnet::parse("10.88.0.0/16")->overlaps(*s) == false);
  EXPECT_TRUE(Subnet::parse("10.89.0.0/16")->overlaps(*s));
  EXPECT_TRUE(s->overlaps(*Subnet::parse("10.0.0.0/8")));
  auto iface = parse_interface_cidr("10.89.3.9/24");
  ASSERT_TRUE(iface);
  EXPECT_EQ(iface->second.str(), "10.89.3.0/24");
}

TEST(NetRate, TcUnits) {
  EXPECT_EQ(parse_rate("10mbit"), 1250000u);
  EXPECT_EQ(parse_rate("512kbit"), 64000u);
  EXPECT_EQ(parse_rate("1gbit"), 125000000u);
  EXPECT_EQ(parse_rate("100kbps"), 100000u);
  EXPECT_EQ(parse_rate("8000"), 1000u);  // bare: bits per second
  EXPECT_EQ(parse_rate("1.5mbit"), 187500u);
  EXPECT_FALSE(parse_rate("fast"));
  EXPECT_FALSE(parse_rate("0mbit"));
  EXPECT_FALSE(parse_rate("-1mbit"));
  EXPECT_FALSE(parse_rate("10 mbit x"));
  EXPECT_EQ(format_rate(1250000), "10mbit");
  EXPECT_EQ(format_rate(187500), "1.5mbit");
  Tbf t = tbf_for(1250000, 0);
  EXPECT_EQ(t.rate, 1250000u);
  EXPECT_GE(t.burst, 16u * 1024);
  EXPECT_GT(t.limit, t.burst);
}

TEST(NetOptions, Publish) {
  Port p = parse_publish("8080:80");
  EXPECT_EQ(p.host_ip.str(), "127.0.0.1");
  EXPECT_EQ(p.host_port, 8080);
  EXPECT_EQ(p.container_port, 80);
  EXPECT_EQ(p.proto, "tcp");
  p = parse_publish("127.0.0.2:5353:53/udp");
  EXPECT_EQ(p.host_ip.str(), "127.0.0.2");
  EXPECT_EQ(p.proto, "udp");
  EXPECT_THROW(parse_publish("80"), Error);
  EXPECT_THROW(parse_publish("0.0.0.0:80:80"), Error);
  EXPECT_THROW(parse_publish("8080:80/sctp"), Error);
  EXPECT_THROW(parse_publish("8080:70000"), Error);
  try {
    parse_publish("x:1:2");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("-p x:1:2"), std::string::npos) << e.what();
  }
}

TEST(NetOptions, RuleProto) {
  Rule r;
  parse_rule_proto("tcp/80", r);
  EXPECT_EQ(r.proto, "tcp");
  EXPECT_EQ(r.port, 80);
  Rule icmp;
  parse_rule_proto("icmp", icmp);
  EXPECT_EQ(icmp.port, 0);
  Rule bad;
  EXPECT_THROW(parse_rule_proto("icmp/3", bad), Error);
  EXPECT_THROW(parse_rule_proto("gre", bad), Error);
}

TEST(NetHosts, Content) {
  std::string h = hosts_content({{*Ipv4::parse("10.89.0.2"), {"web", "www"}},
                                 {*Ipv4::parse("10.89.0.3"), {"db"}},
                                 {*Ipv4::parse("10.89.0.2"), {"dup"}}});
  EXPECT_NE(h.find("127.0.0.1\tlocalhost\n"), std::string::npos);
  EXPECT_NE(h.find("10.89.0.2\tweb www\n"), std::string::npos);
  EXPECT_NE(h.find("10.89.0.3\tdb\n"), std::string::npos);
  EXPECT_EQ(h.find("dup"), std::string::npos);
  std::string r =
      resolv_content("nameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch example\n", false);
  EXPECT_EQ(r.find("127.0.0.53"), std::string::npos);
  EXPECT_NE(r.find("nameserver 192.0.2.1"), std::string::npos);
  EXPECT_EQ(resolv_content("nameserver 192.0.2.1\n", true).find("nameserver"), std::string::npos);
}

TEST(NetHosts, ResolvWithALoopbackResolver) {
  std::string stub = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n";
  std::string upstream = "nameserver 192.0.2.7\nnameserver 192.0.2.8\nsearch lan\n";
  // systemd-resolved's stub: its upstream servers, its search list.
  std::string r = resolv_content(stub, false, upstream);
  EXPECT_EQ(r.find("127.0.0.53"), std::string::npos);
  EXPECT_NE(r.find("nameserver 192.0.2.7\nnameserver 192.0.2.8\nsearch lan\n"), std::string::npos);
  EXPECT_EQ(r.find("edns0"), std::string::npos);
  // A reachable server of the host's own wins over systemd's file.
  r = resolv_content("nameserver 192.0.2.1\n", false, upstream);
  EXPECT_NE(r.find("nameserver 192.0.2.1\n"), std::string::npos);
  EXPECT_EQ(r.find("192.0.2.7"), std::string::npos);
  // Only loopback and no systemd file (or one naming none): docker's defaults.
  for (const auto& sd : {std::optional<std::string>(), std::optional<std::string>("# empty\n")}) {
    r = resolv_content(stub, false, sd);
    EXPECT_NE(r.find("nameserver 8.8.8.8\nnameserver 8.8.4.4\n"), std::string::npos) << r;
    EXPECT_NE(r.find("search lan"), std::string::npos);
  }
  // Internal: none, ever.
  EXPECT_EQ(resolv_content(stub, true, upstream).find("nameserver"), std::string::npos);
  EXPECT_EQ(resolv_content("", true).find("nameserver"), std::string::npos);
}

namespace {

Network small_net() {
  Network n;
  n.name = "t";
  n.id = 3;
  n.bridge = "hull3";
  n.subnet = *Subnet::parse("10.89.7.0/29");  // hosts .1-.6, gateway .1
  n.gateway = n.subnet.first_host();
  return n;
}

struct TempStore {
  std::string dir;
  Store store;
  TempStore() : dir(make()), store(dir) {}
  ~TempStore() { hull::remove_all(dir); }
  static std::string make() {
    char tmpl[] = "/tmp/hull-net-test-XXXXXX";
    return ::mkdtemp(tmpl);
  }
};

Lease lease_for(const std::string& c) {
  Lease l;
  l.container = c;
  own_lease(l);
  return l;
}

// The pid and start time of a process that has exited.
Lease dead_lease(const std::string& c) {
  Lease l = lease_for(c);
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  l.pid = pid;
  return l;
}

}  // namespace

TEST(NetIpam, SequentialThenFreeList) {
  TempStore t;
  Network n = small_net();
  t.store.save(n);
  auto no_reclaim = [](const Lease&) { FAIL() << "nothing is stale"; };
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) {
    Lease l = lease_for("c" + std::to_string(i));
    allocate(t.store, n, l, no_reclaim);
    got.push_back(l.ip.str());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"10.89.7.2", "10.89.7.3", "10.89.7.4", "10.89.7.5",
                                           "10.89.7.6"}));
  Lease full = lease_for("x");
  EXPECT_THROW(allocate(t.store, n, full, no_reclaim), Error);
  t.store.release_lease(n.name, *Ipv4::parse("10.89.7.4"));
  Lease again = lease_for("y");
  allocate(t.store, n, again, no_reclaim);
  EXPECT_EQ(again.ip.str(), "10.89.7.4");
  EXPECT_EQ(t.store.read_lease(n.name, again.ip)->container, "y");
}

TEST(NetIpam, RequestedAddress) {
  TempStore t;
  Network n = small_net();
  t.store.save(n);
  auto none = [](const Lease&) {};
  Lease a = lease_for("a");
  a.ip = *Ipv4::parse("10.89.7.3");
  allocate(t.store, n, a, none);
  Lease b = lease_for("b");
  b.ip = *Ipv4::parse("10.89.7.3");
  EXPECT_THROW(allocate(t.store, n, b, none), Error);
  Lease gw = lease_for("g");
  gw.ip = n.gateway;
  EXPECT_THROW(allocate(t.store, n, gw, none), Error);
  Lease outside = lease_for("o");
  outside.ip = *Ipv4::parse("10.89.8.3");
  EXPECT_THROW(allocate(t.store, n, outside, none), Error);
  // The cursor walks around an address taken explicitly.
  Lease c = lease_for("c"), d = lease_for("d");
  allocate(t.store, n, c, none);
  allocate(t.store, n, d, none);
  EXPECT_EQ(c.ip.str(), "10.89.7.2");
  EXPECT_EQ(d.ip.str(), "10.89.7.4");
}

TEST(NetIpam, StaleLeasesAreReclaimed) {
  TempStore t;
  Network n = small_net();
  t.store.save(n);
  // A lease whose owner died (hull killed mid-create) sits where the cursor goes next.
  Lease dead = dead_lease("ghost");
  dead.ip = *Ipv4::parse("10.89.7.2");
  ASSERT_TRUE(t.store.create_lease(n.name, dead));
  EXPECT_FALSE(lease_alive(dead));
  std::set<std::string> reclaimed;
  auto reclaim = [&](const Lease& l) { reclaimed.insert(l.container); };
  Lease l = lease_for("new");
  allocate(t.store, n, l, reclaim);
  EXPECT_EQ(l.ip.str(), "10.89.7.2");
  EXPECT_EQ(reclaimed, std::set<std::string>{"ghost"});
  // Once the pool is exhausted, a sweep turns stale leases behind the cursor into free ones.
  for (const char* c : {"a", "b", "c", "d"}) {
    Lease x = lease_for(c);
    allocate(t.store, n, x, reclaim);
  }
  Lease gone = dead_lease("gone");
  gone.ip = *Ipv4::parse("10.89.7.5");
  t.store.write_lease(n.name, gone);  // its owner died after taking .5
  Lease last = lease_for("last");
  allocate(t.store, n, last, reclaim);
  EXPECT_EQ(last.ip.str(), "10.89.7.5");
  EXPECT_TRUE(reclaimed.count("gone"));
}

TEST(NetPolicy, TableScript) {
  Network iso = small_net();
  iso.isolated = true;
  Rule r;
  r.id = 4;
  r.from = "web";
  r.to = "db";
  r.proto = "tcp";
  r.port = 5432;
  iso.rules.push_back(r);
  Network open = small_net();
  open.name = "o";
  open.id = 5;
  open.bridge = "hull5";
  open.internal = true;
  Lease web;
  web.container = "web";
  web.ip = *Ipv4::parse("10.89.7.2");
  Port p;
  p.host_port = 8080;
  p.container_port = 80;
  web.ports.push_back(p);
  std::string s = table_script({iso, open}, {{"t", {web}}});
  EXPECT_NE(s.find("delete table inet hull"), std::string::npos);
  EXPECT_NE(s.find("set n3_r4_s { type ipv4_addr; elements = { 10.89.7.2 }; }"), std::string::npos)
      << s;
  EXPECT_NE(s.find("set n3_r4_d { type ipv4_addr; }"), std::string::npos) << s;
  EXPECT_NE(s.find("oifname \"hull3\" ip saddr @n3_r4_s ip daddr @n3_r4_d tcp dport 5432 accept"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("oifname \"hull3\" drop"), std::string::npos);
  EXPECT_NE(s.find("127.0.0.1 . tcp . 8080 : 10.89.7.2 . 80"), std::string::npos);
  EXPECT_NE(s.find("ip daddr != 10.89.7.1 drop"), std::string::npos);  // internal: own gateway only
  EXPECT_EQ(table_script({}, {}), "table inet hull\ndelete table inet hull\n");
  auto el = lease_elements(iso, web);
  ASSERT_EQ(el.size(), 2u);
  EXPECT_EQ(remove_elements_script({el[1]}),
            el[1] + "\n" + "delete element inet hull n3_r4_s { 10.89.7.2 }\n");
}

// The friendly face gives containers an id and a name: the id keys the index and cleanup,
// the name (and aliases) is what /etc/hosts and rules know it by.
TEST(NetStore, LeaseNameApartFromId) {
  TempStore t;
  Network n = small_net();
  t.store.save(n);
  Lease l = lease_for("4f2a9c01");
  l.name = "web";
  l.aliases = {"www", "web"};
  l.ip = *Ipv4::parse("10.89.7.2");
  ASSERT_TRUE(t.store.create_lease(n.name, l));
  auto back = t.store.read_lease(n.name, l.ip);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->container, "4f2a9c01");
  EXPECT_EQ(back->display_name(), "web");
  EXPECT_EQ(back->host_names(), (std::vector<std::string>{"web", "www"}));
  EXPECT_TRUE(back->answers_to("4f2a9c01") && back->answers_to("web") && back->answers_to("www"));
  EXPECT_FALSE(back->answers_to("db"));
  Lease anon = lease_for("7c");  // no name: the id stands in
  EXPECT_EQ(anon.display_name(), "7c");
  EXPECT_EQ(anon.host_names(), std::vector<std::string>{"7c"});

  Network iso = small_net();
  iso.isolated = true;
  Rule r;
  r.id = 1;
  r.from = "web";
  r.to = "10.89.7.3";
  iso.rules.push_back(r);
  std::string s = table_script({iso}, {{"t", {*back}}});
  EXPECT_NE(s.find("set n3_r1_s { type ipv4_addr; elements = { 10.89.7.2 }; }"), std::string::npos)
      << s;
  EXPECT_EQ(lease_elements(iso, *back).size(), 1u);
}
