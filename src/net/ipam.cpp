#include "net/ipam.h"

#include <unistd.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/proc.h"
#include "util/strings.h"

namespace hull::net {

const std::string& boot_id() {
  static const std::string id = [] {
    auto text = read_file_if_exists("/proc/sys/kernel/random/boot_id");
    return text ? std::string(trim(*text)) : std::string();
  }();
  return id;
}

bool lease_alive(const Lease& l) {
  return !l.container.empty() && l.boot_id == boot_id() && process_matches(l.pid, l.start_time);
}

namespace {

bool try_claim(Store& store, const Network& net, Lease& lease, Ipv4 ip, const Reclaim& reclaim) {
  lease.ip = ip;
  if (store.create_lease(net.name, lease)) return true;
  auto held = store.read_lease(net.name, ip);
  if (held && lease_alive(*held)) return false;
  if (held) reclaim(*held);
  store.release_lease(net.name, ip);
  store.unmark_free(net.name, ip);
  return store.create_lease(net.name, lease);
}

}  // namespace

void allocate(Store& store, const Network& net, Lease& lease, const Reclaim& reclaim) {
  const Subnet& s = net.subnet;
  if (lease.ip.v != 0) {
    Ipv4 want = lease.ip;
    if (!s.is_host(want) || want == net.gateway)
      fail("--ip {}: not a usable address of network {} ({}, gateway {})", want.str(), net.name,
           s.str(), net.gateway.str());
    if (!try_claim(store, net, lease, want, reclaim)) {
      auto held = store.read_lease(net.name, want);
      fail("--ip {}: in use on network {} by {}", want.str(), net.name,
           held ? held->container : "another container");
    }
    store.unmark_free(net.name, want);
    return;
  }
  uint32_t first = s.first_host().v, last = s.last_host().v;
  uint32_t cur = store.cursor(net.name, first);
  while (cur >= first && cur <= last) {
    Ipv4 ip{cur++};
    if (ip == net.gateway) continue;
    if (try_claim(store, net, lease, ip, reclaim)) {
      store.set_cursor(net.name, cur);
      return;
    }
  }
  store.set_cursor(net.name, last + 1);
  for (int pass = 0; pass < 2; ++pass) {
    while (auto ip = store.pop_free(net.name)) {
      if (!s.is_host(*ip) || *ip == net.gateway) continue;
      if (try_claim(store, net, lease, *ip, reclaim)) return;
    }
    if (pass == 1) break;
    // Exhausted: stale leases become free addresses (O(n), only when the pool is empty).
    for (auto& held : store.leases(net.name)) {
      if (lease_alive(held)) continue;
      reclaim(held);
      store.release_lease(net.name, held.ip);
    }
  }
  fail("network {} has no free address ({} is full)", net.name, s.str());
}

void own_lease(Lease& l) {
  l.pid = ::getpid();
  auto st = read_proc_stat(l.pid);
  l.start_time = st ? st->start_time : 0;
  l.boot_id = boot_id();
}

}  // namespace hull::net
