#include "net/netlink.h"

// glibc's network headers before the kernel's: linux/libc-compat.h then skips what glibc
// already defined.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/pkt_sched.h>
#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/addr.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/route.h>
#include <netlink/route/tc.h>
#include <sched.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/proc.h"

namespace hull::net {
namespace {

// libnl reports its own NLE_* codes; hull's errors carry errno, so map back the ones the
// kernel sends (libnl maps errno -> NLE one way only).
int errno_of(int nle) {
  switch (nle < 0 ? -nle : nle) {
    case NLE_EXIST:
      return EEXIST;
    case NLE_OBJ_NOTFOUND:
      return ENOENT;
    case NLE_NODEV:
      return ENODEV;
    case NLE_PERM:
      return EPERM;
    case NLE_NOACCESS:
      return EACCES;
    case NLE_BUSY:
      return EBUSY;
    case NLE_INVAL:
      return EINVAL;
    case NLE_RANGE:
      return ERANGE;
    case NLE_NOADDR:
      return EADDRNOTAVAIL;
    case NLE_OPNOTSUPP:
      return EOPNOTSUPP;
    case NLE_NOMEM:
      return ENOMEM;
    case NLE_AGAIN:
      return EAGAIN;
    case NLE_MSGSIZE:
      return EMSGSIZE;
    case NLE_AF_NOSUPPORT:
      return EAFNOSUPPORT;
    case NLE_PROTO_MISMATCH:
      return EPROTONOSUPPORT;
    case NLE_INTR:
      return EINTR;
  }
  return 0;
}

template <typename... Args>
[[noreturn]] void fail_nl(int nle, fmt::format_string<Args...> format, Args&&... args) {
  std::string what = fmt::format(format, std::forward<Args>(args)...);
  int err = errno_of(nle);
  if (err) throw Error(what, err);
  throw Error(fmt::format("{}: {}", what, nl_geterror(nle)));
}

// Owned libnl objects: each has its own put/free function.
template <typename T, void (*Put)(T*)>
struct NlPtr {
  T* p = nullptr;
  NlPtr() = default;
  explicit NlPtr(T* x) : p(x) {}
  NlPtr(const NlPtr&) = delete;
  NlPtr& operator=(const NlPtr&) = delete;
  NlPtr(NlPtr&& o) noexcept : p(std::exchange(o.p, nullptr)) {}
  ~NlPtr() {
    if (p) Put(p);
  }
  T* get() const { return p; }
  T** out() { return &p; }
};
using LinkPtr = NlPtr<rtnl_link, rtnl_link_put>;
using AddrPtr = NlPtr<rtnl_addr, rtnl_addr_put>;
using NlAddrPtr = NlPtr<nl_addr, nl_addr_put>;
using CachePtr = NlPtr<nl_cache, nl_cache_free>;
using RoutePtr = NlPtr<rtnl_route, rtnl_route_put>;
using QdiscPtr = NlPtr<rtnl_qdisc, rtnl_qdisc_put>;
using ClsPtr = NlPtr<rtnl_cls, rtnl_cls_put>;
using MsgPtr = NlPtr<nl_msg, nlmsg_free>;

void sock_free(nl_sock* s) {
  nl_socket_free(s);
}

NlAddrPtr ipv4_addr(Ipv4 a, int prefix) {
  uint32_t be = a.network_order();
  NlAddrPtr p(nl_addr_build(AF_INET, &be, sizeof be));
  if (!p.get()) throw Error("allocate netlink address", ENOMEM);
  nl_addr_set_prefixlen(p.get(), prefix);
  return p;
}

// Messages built by hand for what libnl has no setter for (bridge options).
MsgPtr link_message(int type, int flags, int index, unsigned up_flags) {
  MsgPtr m(nlmsg_alloc_simple(type, flags));
  if (!m.get()) throw Error("allocate netlink message", ENOMEM);
  ifinfomsg ifi = {};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  ifi.ifi_flags = up_flags;
  ifi.ifi_change = up_flags;
  if (nlmsg_append(m.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0)
    throw Error("build netlink message", EMSGSIZE);
  return m;
}

void put_bridge_nf_call(nl_msg* m, bool on) {
  nlattr* info = nla_nest_start(m, IFLA_LINKINFO);
  nla_put_string(m, IFLA_INFO_KIND, "bridge");
  nlattr* data = nla_nest_start(m, IFLA_INFO_DATA);
  nla_put_u8(m, IFLA_BR_NF_CALL_IPTABLES, on);
  nla_put_u8(m, IFLA_BR_NF_CALL_IP6TABLES, on);
  nla_nest_end(m, data);
  nla_nest_end(m, info);
}

}  // namespace

void in_netns(int netns_fd, const std::function<void()>& f) {
  Fd self = open_or_fail("/proc/thread-self/ns/net", O_RDONLY);
  if (::setns(netns_fd, CLONE_NEWNET) < 0) fail_errno("enter the container's network namespace");
  auto back = [&] {
    if (::setns(self.get(), CLONE_NEWNET) < 0) {
      log::error(fmt::format("return to the host network namespace: {}", errno_text(errno)));
      std::_Exit(125);
    }
  };
  try {
    f();
  } catch (...) {
    back();
    throw;
  }
  back();
}

Fd open_netns_of(pid_t pid, uint64_t start_time) {
  std::string path = fmt::format("/proc/{}/ns/net", pid);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail_errno("open network namespace of process {}", pid);
  // Checked after the open: the fd now holds the namespace of whatever had that pid.
  if (!process_matches(pid, start_time))
    fail("process {} is gone: the container is not running", pid);
  return fd;
}

Netlink::Netlink() {
  connect();
}

Netlink::Netlink(int netns_fd) {
  in_netns(netns_fd, [&] { connect(); });
}

Netlink::~Netlink() {
  if (sk_) nl_socket_free(sk_);
}

void Netlink::connect() {
  sk_ = nl_socket_alloc();
  if (!sk_) throw Error("allocate netlink socket", ENOMEM);
  if (int err = nl_connect(sk_, NETLINK_ROUTE); err < 0) {
    nl_socket_free(sk_);
    sk_ = nullptr;
    fail_nl(err, "connect rtnetlink socket");
  }
}

int Netlink::index(const std::string& name) {
  LinkPtr link;
  int err = rtnl_link_get_kernel(sk_, 0, name.c_str(), link.out());
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return 0;
  if (err < 0) fail_nl(err, "look up link {}", name);
  return rtnl_link_get_ifindex(link.get());
}

int Netlink::index_or_fail(const std::string& name) {
  int i = index(name);
  if (i == 0) throw Error(fmt::format("link {}", name), ENODEV);
  return i;
}

void Netlink::create_bridge(const std::string& name, bool nf_call) {
  uint8_t mac[6];
  if (::getrandom(mac, sizeof mac, 0) != sizeof mac) fail_errno("getrandom");
  mac[0] = static_cast<uint8_t>((mac[0] & 0xfe) | 0x02);  // unicast, locally administered
  MsgPtr m = link_message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, IFF_UP);
  nla_put_string(m.get(), IFLA_IFNAME, name.c_str());
  nla_put(m.get(), IFLA_ADDRESS, sizeof mac, mac);
  put_bridge_nf_call(m.get(), nf_call);
  int err = nl_send_sync(sk_, m.get());
  m.p = nullptr;  // nl_send_sync frees it
  if (err < 0) fail_nl(err, "create bridge {}", name);
}

void Netlink::set_bridge_nf_call(const std::string& name, bool nf_call) {
  MsgPtr m = link_message(RTM_NEWLINK, 0, index_or_fail(name), 0);
  put_bridge_nf_call(m.get(), nf_call);
  int err = nl_send_sync(sk_, m.get());
  m.p = nullptr;
  if (err < 0) fail_nl(err, "set bridge {} nf_call_iptables", name);
}

void Netlink::create_veth(const std::string& host, int master, const std::string& peer_name,
                          int peer_netns_fd) {
  LinkPtr link(rtnl_link_veth_alloc());
  if (!link.get()) throw Error("allocate veth", ENOMEM);
  rtnl_link_set_name(link.get(), host.c_str());
  rtnl_link_set_master(link.get(), master);
  rtnl_link_set_flags(link.get(), IFF_UP);
  LinkPtr peer(rtnl_link_veth_get_peer(link.get()));
  rtnl_link_set_name(peer.get(), peer_name.c_str());
  // The peer comes up from inside (set_up): libnl sends its flags without a change mask,
  // which the kernel refuses.
  rtnl_link_set_ns_fd(peer.get(), peer_netns_fd);
  int err = rtnl_link_add(sk_, link.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err < 0) fail_nl(err, "create veth pair {} / {}", host, peer_name);
}

void Netlink::create_ifb(const std::string& name) {
  LinkPtr link(rtnl_link_alloc());
  if (!link.get()) throw Error("allocate link", ENOMEM);
  rtnl_link_set_name(link.get(), name.c_str());
  if (int err = rtnl_link_set_type(link.get(), "ifb"); err < 0) fail_nl(err, "ifb link type");
  rtnl_link_set_flags(link.get(), IFF_UP);
  int err = rtnl_link_add(sk_, link.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err < 0) fail_nl(err, "create ifb {}", name);
}

void Netlink::set_up(const std::string& name) {
  LinkPtr orig, change(rtnl_link_alloc());
  if (int err = rtnl_link_get_kernel(sk_, 0, name.c_str(), orig.out()); err < 0)
    fail_nl(err, "look up link {}", name);
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (int err = rtnl_link_change(sk_, orig.get(), change.get(), 0); err < 0)
    fail_nl(err, "set {} up", name);
}

bool Netlink::delete_link(const std::string& name) {
  LinkPtr link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  int err = rtnl_link_delete(sk_, link.get());
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
  if (err < 0) fail_nl(err, "delete link {}", name);
  return true;
}

void Netlink::set_ipv4_conf(const std::string& name, int key, uint32_t value) {
  LinkPtr orig, change(rtnl_link_alloc());
  if (int err = rtnl_link_get_kernel(sk_, 0, name.c_str(), orig.out()); err < 0)
    fail_nl(err, "look up link {}", name);
  if (int err = rtnl_link_inet_set_conf(change.get(), static_cast<unsigned>(key), value); err < 0)
    fail_nl(err, "ipv4 conf {} of {}", key, name);
  if (int err = rtnl_link_change(sk_, orig.get(), change.get(), 0); err < 0)
    fail_nl(err, "set ipv4 conf {} of {}", key, name);
}

void Netlink::add_address(const std::string& link, Ipv4 a, int prefix) {
  AddrPtr addr(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(addr.get(), index_or_fail(link));
  NlAddrPtr local = ipv4_addr(a, prefix);
  rtnl_addr_set_local(addr.get(), local.get());
  Subnet net{{a.v}, prefix};
  net.base.v &= net.mask();
  if (prefix < 31) {
    NlAddrPtr bcast = ipv4_addr(net.broadcast(), prefix);
    rtnl_addr_set_broadcast(addr.get(), bcast.get());
  }
  if (int err = rtnl_addr_add(sk_, addr.get(), 0); err < 0)
    fail_nl(err, "add address {}/{} to {}", a.str(), prefix, link);
}

void Netlink::add_default_route(const std::string& link, Ipv4 gateway) {
  RoutePtr route(rtnl_route_alloc());
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), RTPROT_BOOT);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  NlAddrPtr dst = ipv4_addr(Ipv4{0}, 0);
  rtnl_route_set_dst(route.get(), dst.get());
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, index_or_fail(link));
  NlAddrPtr gw = ipv4_addr(gateway, 32);
  rtnl_route_nh_set_gateway(nh, gw.get());
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns nh now
  if (int err = rtnl_route_add(sk_, route.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    fail_nl(err, "add default route via {} on {}", gateway.str(), link);
}

std::vector<Subnet> Netlink::ipv4_routes() {
  CachePtr cache;
  if (int err = rtnl_route_alloc_cache(sk_, AF_INET, 0, cache.out()); err < 0)
    fail_nl(err, "list routes");
  std::vector<Subnet> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(r) != RT_TABLE_MAIN) continue;
    nl_addr* dst = rtnl_route_get_dst(r);
    if (!dst || nl_addr_get_len(dst) != 4) continue;
    uint32_t be;
    std::memcpy(&be, nl_addr_get_binary_addr(dst), 4);
    Subnet s{{ntohl(be)}, static_cast<int>(nl_addr_get_prefixlen(dst))};
    if (s.prefix == 0) continue;  // the default route overlaps everything; it is not a subnet
    s.base.v &= s.mask();
    out.push_back(s);
  }
  return out;
}

LinkStats Netlink::stats(const std::string& name) {
  LinkPtr link;
  if (int err = rtnl_link_get_kernel(sk_, 0, name.c_str(), link.out()); err < 0)
    fail_nl(err, "look up link {}", name);
  LinkStats s;
  s.rx_bytes = rtnl_link_get_stat(link.get(), RTNL_LINK_RX_BYTES);
  s.tx_bytes = rtnl_link_get_stat(link.get(), RTNL_LINK_TX_BYTES);
  s.rx_packets = rtnl_link_get_stat(link.get(), RTNL_LINK_RX_PACKETS);
  s.tx_packets = rtnl_link_get_stat(link.get(), RTNL_LINK_TX_PACKETS);
  s.rx_dropped = rtnl_link_get_stat(link.get(), RTNL_LINK_RX_DROPPED);
  s.tx_dropped = rtnl_link_get_stat(link.get(), RTNL_LINK_TX_DROPPED);
  return s;
}

std::vector<InterfaceInfo> Netlink::interfaces() {
  CachePtr links, addrs;
  if (int err = rtnl_link_alloc_cache(sk_, AF_UNSPEC, links.out()); err < 0)
    fail_nl(err, "list links");
  if (int err = rtnl_addr_alloc_cache(sk_, addrs.out()); err < 0) fail_nl(err, "list addresses");
  std::vector<InterfaceInfo> out;
  char buf[128];
  for (nl_object* o = nl_cache_get_first(links.get()); o; o = nl_cache_get_next(o)) {
    auto* l = reinterpret_cast<rtnl_link*>(o);
    InterfaceInfo i;
    i.name = rtnl_link_get_name(l) ? rtnl_link_get_name(l) : "";
    if (nl_addr* mac = rtnl_link_get_addr(l)) i.mac = nl_addr2str(mac, buf, sizeof buf);
    i.up = rtnl_link_get_flags(l) & IFF_UP;
    i.mtu = rtnl_link_get_mtu(l);
    i.stats.rx_bytes = rtnl_link_get_stat(l, RTNL_LINK_RX_BYTES);
    i.stats.tx_bytes = rtnl_link_get_stat(l, RTNL_LINK_TX_BYTES);
    i.stats.rx_packets = rtnl_link_get_stat(l, RTNL_LINK_RX_PACKETS);
    i.stats.tx_packets = rtnl_link_get_stat(l, RTNL_LINK_TX_PACKETS);
    i.stats.rx_dropped = rtnl_link_get_stat(l, RTNL_LINK_RX_DROPPED);
    i.stats.tx_dropped = rtnl_link_get_stat(l, RTNL_LINK_TX_DROPPED);
    int index = rtnl_link_get_ifindex(l);
    for (nl_object* ao = nl_cache_get_first(addrs.get()); ao; ao = nl_cache_get_next(ao)) {
      auto* a = reinterpret_cast<rtnl_addr*>(ao);
      if (rtnl_addr_get_ifindex(a) != index || rtnl_addr_get_family(a) != AF_INET) continue;
      i.addresses.emplace_back(nl_addr2str(rtnl_addr_get_local(a), buf, sizeof buf));
    }
    out.push_back(std::move(i));
  }
  return out;
}

void Netlink::set_tbf(const std::string& link, const Tbf& tbf) {
  if (tbf.rate > INT32_MAX)
    fail("rate {} bytes/s is more than tbf takes ({} bytes/s)", tbf.rate, INT32_MAX);
  QdiscPtr q(rtnl_qdisc_alloc());
  rtnl_tc_set_ifindex(TC_CAST(q.get()), index_or_fail(link));
  rtnl_tc_set_parent(TC_CAST(q.get()), TC_H_ROOT);
  rtnl_tc_set_handle(TC_CAST(q.get()), TC_HANDLE(1, 0));
  if (int err = rtnl_tc_set_kind(TC_CAST(q.get()), "tbf"); err < 0) fail_nl(err, "tbf qdisc");
  rtnl_qdisc_tbf_set_limit(q.get(), static_cast<int>(tbf.limit));
  rtnl_qdisc_tbf_set_rate(q.get(), static_cast<int>(tbf.rate), static_cast<int>(tbf.burst), 0);
  if (int err = rtnl_qdisc_add(sk_, q.get(), NLM_F_CREATE | NLM_F_REPLACE); err < 0)
    fail_nl(err, "set tbf qdisc on {}", link);
}

void Netlink::redirect_ingress(const std::string& link, const std::string& to) {
  int from_index = index_or_fail(link), to_index = index_or_fail(to);
  QdiscPtr q(rtnl_qdisc_alloc());
  rtnl_tc_set_ifindex(TC_CAST(q.get()), from_index);
  rtnl_tc_set_parent(TC_CAST(q.get()), TC_H_INGRESS);
  rtnl_tc_set_handle(TC_CAST(q.get()), TC_HANDLE(0xffff, 0));
  rtnl_tc_set_kind(TC_CAST(q.get()), "ingress");
  if (int err = rtnl_qdisc_add(sk_, q.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    fail_nl(err, "add ingress qdisc on {}", link);

  ClsPtr cls(rtnl_cls_alloc());
  rtnl_tc_set_ifindex(TC_CAST(cls.get()), from_index);
  rtnl_tc_set_parent(TC_CAST(cls.get()), TC_HANDLE(0xffff, 0));
  if (int err = rtnl_tc_set_kind(TC_CAST(cls.get()), "u32"); err < 0) fail_nl(err, "u32 filter");
  rtnl_cls_set_protocol(cls.get(), ETH_P_ALL);
  rtnl_cls_set_prio(cls.get(), 1);
  // One key that every packet matches (mask 0): the kernel has no matchall classifier here.
  rtnl_u32_add_key_uint32(cls.get(), 0, 0, 0, 0);
  rtnl_u32_set_cls_terminal(cls.get());
  rtnl_act* act = rtnl_act_alloc();
  rtnl_tc_set_kind(TC_CAST(act), "mirred");
  rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
  rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
  rtnl_mirred_set_ifindex(act, static_cast<uint32_t>(to_index));
  rtnl_u32_add_action(cls.get(), act);
  rtnl_act_put(act);  // the classifier holds its own reference
  if (int err = rtnl_cls_add(sk_, cls.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    fail_nl(err, "redirect ingress of {} to {}", link, to);
}

void Netlink::clear_qdiscs(const std::string& link) {
  int index = this->index(link);
  if (index == 0) return;
  for (uint32_t parent : {TC_H_ROOT, TC_H_INGRESS}) {
    QdiscPtr q(rtnl_qdisc_alloc());
    rtnl_tc_set_ifindex(TC_CAST(q.get()), index);
    rtnl_tc_set_parent(TC_CAST(q.get()), parent);
    int err = rtnl_qdisc_delete(sk_, q.get());
    // Nothing to delete is what we want; the kernel says so with ENOENT or EINVAL.
    if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_INVAL && err != -NLE_NODEV)
      fail_nl(err, "delete qdisc of {}", link);
  }
}

bool Netlink::nft_inet_table_exists(const std::string& table) {
  NlPtr<nl_sock, sock_free> s(nl_socket_alloc());
  if (!s.get()) throw Error("allocate netlink socket", ENOMEM);
  if (int err = nl_connect(s.get(), NETLINK_NETFILTER); err < 0)
    fail_nl(err, "connect nfnetlink socket");
  MsgPtr m(nlmsg_alloc_simple((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE, 0));
  nfgenmsg g = {};
  g.nfgen_family = NFPROTO_INET;
  g.version = NFNETLINK_V0;
  nlmsg_append(m.get(), &g, sizeof g, NLMSG_ALIGNTO);
  nla_put_string(m.get(), NFTA_TABLE_NAME, table.c_str());
  int err = nl_send_sync(s.get(), m.get());
  m.p = nullptr;
  if (err == -NLE_OBJ_NOTFOUND) return false;
  if (err < 0) fail_nl(err, "look up nftables table {}", table);
  return true;
}

}  // namespace hull::net
