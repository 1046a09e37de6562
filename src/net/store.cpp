#include "net/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/strings.h"

namespace hull::net {

using json = nlohmann::json;

namespace {

// Without atomic_write's temporary files.
std::vector<std::string> dir_entries(const std::string& path) {
  auto names = list_dir(path);
  std::erase_if(names, [](const std::string& n) { return n.find(".tmp") != std::string::npos; });
  return names;
}

json rule_json(const Rule& r) {
  json j = {{"id", r.id}, {"action", r.allow ? "allow" : "deny"}, {"from", r.from}, {"to", r.to}};
  if (!r.proto.empty()) j["proto"] = r.proto;
  if (r.port) j["port"] = r.port;
  return j;
}

Rule rule_from(const json& j) {
  Rule r;
  r.id = j.at("id").get<int>();
  r.allow = j.at("action").get<std::string>() == "allow";
  r.from = j.at("from").get<std::string>();
  r.to = j.at("to").get<std::string>();
  r.proto = j.value("proto", "");
  r.port = j.value("port", uint16_t{0});
  return r;
}

Ipv4 ip_or_fail(const std::string& s, const std::string& where) {
  auto a = Ipv4::parse(s);
  if (!a) fail("{}: invalid address {}", where, quote(s));
  return *a;
}

}  // namespace

std::vector<std::string> Lease::host_names() const {
  std::vector<std::string> v = {display_name()};
  for (const auto& a : aliases)
    if (std::find(v.begin(), v.end(), a) == v.end()) v.push_back(a);
  return v;
}

bool Lease::answers_to(const std::string& n) const {
  return n == container || n == name ||
         std::find(aliases.begin(), aliases.end(), n) != aliases.end();
}

std::string Port::str() const {
  return fmt::format("{}:{}->{}/{}", host_ip.str(), host_port, container_port, proto);
}

std::string host_link(const Network& net, Ipv4 ip) {
  return fmt::format("hv{}-{}", net.id, ip.v - net.subnet.base.v);
}
std::string ifb_link(const Network& net, Ipv4 ip) {
  return fmt::format("hs{}-{}", net.id, ip.v - net.subnet.base.v);
}

void validate_network_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  if (!ok)
    fail(
        "invalid network name {}: use letters, digits, '_', '.', '-' (at most 64, starting with a "
        "letter or digit)",
        quote(name));
  if (name == "none" || name == "host")
    fail("network name {} is reserved (--network {} is built in)", name, name);
}

Store::Store(const std::string& base) : dir_(path_join(base, "networks")) {}

std::string Store::net_dir(const std::string& net) const {
  return path_join(dir_, net);
}

Fd Store::lock_all(bool exclusive) {
  mkdir_p(path_join(dir_, ".containers"), 0700);
  Fd fd = open_or_fail(path_join(dir_, ".lock"), O_RDWR | O_CREAT, 0600);
  lock_fd(fd.get(), exclusive ? LockMode::exclusive : LockMode::shared, path_join(dir_, ".lock"));
  return fd;
}

Fd Store::lock_network(const std::string& name) {
  int fd = ::open(net_dir(name).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Fd();
    fail_errno("open {}", net_dir(name));
  }
  Fd owned(fd);
  lock_fd(fd, LockMode::exclusive, net_dir(name));
  // Removed while we waited: the lock is on a directory nobody will look at again.
  if (!path_exists(path_join(dir_, name + ".json"))) return Fd();
  return owned;
}

std::optional<Network> Store::load(const std::string& name) {
  std::string path = path_join(dir_, name + ".json");
  auto text = read_file_if_exists(path);
  if (!text) return std::nullopt;
  try {
    json j = json::parse(*text);
    Network n;
    n.name = j.at("name").get<std::string>();
    n.id = j.at("id").get<int>();
    n.bridge = j.at("bridge").get<std::string>();
    auto subnet = Subnet::parse(j.at("subnet").get<std::string>());
    if (!subnet) fail("subnet: invalid");
    n.subnet = *subnet;
    n.gateway = ip_or_fail(j.at("gateway").get<std::string>(), "gateway");
    n.isolated = j.value("isolated", false);
    n.internal = j.value("internal", false);
    n.created = j.value("created", "");
    for (const auto& r : j.value("rules", json::array())) n.rules.push_back(rule_from(r));
    n.next_rule = j.value("next_rule", 1);
    return n;
  } catch (const json::exception& e) {
    fail("{}: {}", path, e.what());
  } catch (Error& e) {
    e.add_context(path);
    throw;
  }
}

std::vector<Network> Store::list() {
  std::vector<Network> out;
  for (const auto& name : dir_entries(dir_)) {
    if (name.size() <= 5 || name.substr(name.size() - 5) != ".json" || name[0] == '.') continue;
    if (auto n = load(name.substr(0, name.size() - 5))) out.push_back(std::move(*n));
  }
  return out;
}

nlohmann::json network_to_json(const Network& n) {
  json rules = json::array();
  for (const auto& r : n.rules) rules.push_back(rule_json(r));
  return {{"name", n.name},
          {"id", n.id},
          {"bridge", n.bridge},
          {"subnet", n.subnet.str()},
          {"gateway", n.gateway.str()},
          {"isolated", n.isolated},
          {"internal", n.internal},
          {"created", n.created},
          {"rules", rules},
          {"next_rule", n.next_rule}};
}

void Store::save(const Network& n) {
  json j = network_to_json(n);
  mkdir_p(path_join(net_dir(n.name), "leases"), 0700);
  mkdir_p(path_join(net_dir(n.name), "free"), 0700);
  atomic_write(path_join(dir_, n.name + ".json"), j.dump(1) + "\n", 0644);
}

void Store::remove(const std::string& name) {
  // The definition goes first: from then on the network does not exist for anyone.
  if (::unlink(path_join(dir_, name + ".json").c_str()) < 0 && errno != ENOENT)
    fail_errno("remove {}", path_join(dir_, name + ".json"));
  remove_all(net_dir(name));
}

std::optional<Lease> Store::read_lease(const std::string& net, Ipv4 ip) {
  std::string path = path_join(net_dir(net), "leases/" + ip.str());
  auto text = read_file_if_exists(path);
  if (!text) return std::nullopt;
  Lease l;
  l.ip = ip;
  try {
    json j = json::parse(*text);
    l.container = j.at("container").get<std::string>();
    l.name = j.value("name", "");
    l.aliases = j.value("aliases", std::vector<std::string>{});
    l.ifname = j.value("ifname", "");
    l.pid = j.value("pid", 0);
    l.start_time = j.value("start_time", uint64_t{0});
    l.boot_id = j.value("boot_id", "");
    l.attached = j.value("attached", false);
    l.rate = j.value("rate", uint64_t{0});
    l.burst = j.value("burst", uint32_t{0});
    l.default_route = j.value("default_route", false);
    l.hosts_file = j.value("hosts_file", "");
    for (const auto& p : j.value("ports", json::array())) {
      Port port;
      port.host_ip = ip_or_fail(p.at("host_ip").get<std::string>(), path);
      port.host_port = p.at("host_port").get<uint16_t>();
      port.container_port = p.at("container_port").get<uint16_t>();
      port.proto = p.at("proto").get<std::string>();
      l.ports.push_back(port);
    }
  } catch (const json::exception& e) {
    // A lease half-written cannot exist (atomic writes); an unreadable one is foreign junk.
    // Treat it as stale, owned by nobody, so a sweep clears it.
    l.container.clear();
    l.pid = 0;
  }
  return l;
}

namespace {
std::string lease_text(const Lease& l) {
  json ports = json::array();
  for (const auto& p : l.ports)
    ports.push_back({{"host_ip", p.host_ip.str()},
                     {"host_port", p.host_port},
                     {"container_port", p.container_port},
                     {"proto", p.proto}});
  json j = {{"container", l.container},
            {"name", l.name},
            {"aliases", l.aliases},
            {"ifname", l.ifname},
            {"pid", l.pid},
            {"start_time", l.start_time},
            {"boot_id", l.boot_id},
            {"attached", l.attached},
            {"ports", ports},
            {"rate", l.rate},
            {"burst", l.burst},
            {"default_route", l.default_route},
            {"hosts_file", l.hosts_file}};
  return j.dump() + "\n";
}
}  // namespace

bool Store::create_lease(const std::string& net, const Lease& l) {
  std::string dir = path_join(net_dir(net), "leases");
  std::string name = l.ip.str();
  Fd dfd = open_or_fail(dir, O_RDONLY | O_DIRECTORY);
  // An unnamed file, written, then linked into place: the name appears with its content or
  // not at all (link fails with EEXIST when the address is taken), and a hull killed before
  // the link leaves nothing behind.
  Fd fd(::openat(dfd.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
  if (!fd) fail_errno("create lease in {}", dir);
  write_all(fd.get(), lease_text(l), name.c_str());
  std::string self = fmt::format("/proc/self/fd/{}", fd.get());
  if (::linkat(AT_FDCWD, self.c_str(), dfd.get(), name.c_str(), AT_SYMLINK_FOLLOW) == 0)
    return true;
  if (errno == EEXIST) return false;
  fail_errno("create lease {}/{}", dir, name);
}

void Store::remove_stale_temp_files(const std::string& net) {
  // atomic_write's "NAME.tmpPID" files of a hull killed between write and rename.
  for (const std::string& sub : {std::string(), std::string("leases")}) {
    std::string dir = path_join(net_dir(net), sub);
    std::vector<std::string> stale;
    for (const auto& n : list_dir(dir)) {
      auto pos = n.rfind(".tmp");
      if (pos == std::string::npos) continue;
      auto pid = parse_i64(std::string_view(n).substr(pos + 4));
      if (pid && *pid > 0 && ::kill(static_cast<pid_t>(*pid), 0) < 0 && errno == ESRCH)
        stale.push_back(n);
    }
    for (const auto& n : stale) ::unlinkat(AT_FDCWD, path_join(dir, n).c_str(), 0);
  }
}

void Store::write_lease(const std::string& net, const Lease& l) {
  atomic_write(path_join(net_dir(net), "leases/" + l.ip.str()), lease_text(l), 0600);
}

void Store::release_lease(const std::string& net, Ipv4 ip) {
  std::string free_mark = path_join(net_dir(net), "free/" + ip.str());
  Fd mark(::open(free_mark.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!mark && errno != EEXIST) fail_errno("mark {} free", free_mark);
  std::string path = path_join(net_dir(net), "leases/" + ip.str());
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) fail_errno("remove lease {}", path);
}

std::vector<Lease> Store::leases(const std::string& net) {
  std::vector<Lease> out;
  for (const auto& name : dir_entries(path_join(net_dir(net), "leases"))) {
    auto ip = Ipv4::parse(name);
    if (!ip) continue;
    if (auto l = read_lease(net, *ip)) out.push_back(std::move(*l));
  }
  return out;
}

std::optional<Ipv4> Store::pop_free(const std::string& net) {
  std::string dir = path_join(net_dir(net), "free");
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return std::nullopt;
    fail_errno("open directory {}", dir);
  }
  std::optional<Ipv4> found;
  while (dirent* e = ::readdir(d)) {
    if (auto ip = Ipv4::parse(e->d_name)) {
      found = ip;
      break;
    }
  }
  ::closedir(d);
  if (found) unmark_free(net, *found);
  return found;
}

void Store::unmark_free(const std::string& net, Ipv4 ip) {
  std::string path = path_join(net_dir(net), "free/" + ip.str());
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) fail_errno("remove {}", path);
}

uint32_t Store::cursor(const std::string& net, uint32_t initial) {
  auto text = read_file_if_exists(path_join(net_dir(net), "next"));
  if (!text) return initial;
  return static_cast<uint32_t>(parse_u64(trim(*text)).value_or(initial));
}

void Store::set_cursor(const std::string& net, uint32_t value) {
  atomic_write(path_join(net_dir(net), "next"), std::to_string(value) + "\n", 0600);
}

std::string Store::container_dir(const std::string& container) const {
  return path_join(dir_, ".containers/" + container);
}

void Store::index_add(const std::string& container, const std::string& net, Ipv4 ip) {
  std::string dir = container_dir(container);
  mkdir_p(dir, 0755);
  atomic_write(path_join(dir, net + ".net"), ip.str() + "\n", 0600);
}

void Store::index_remove(const std::string& container, const std::string& net, Ipv4 ip) {
  std::string path = path_join(container_dir(container), net + ".net");
  auto text = read_file_if_exists(path);
  // Only our own entry: the container may have been given another address since.
  if (!text || trim(*text) != ip.str()) return;
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) fail_errno("remove {}", path);
}

std::map<std::string, Ipv4> Store::index(const std::string& container) {
  std::map<std::string, Ipv4> out;
  std::string dir = container_dir(container);
  for (const auto& name : dir_entries(dir)) {
    if (name.size() <= 4 || name.substr(name.size() - 4) != ".net") continue;
    auto text = read_file_if_exists(path_join(dir, name));
    if (!text) continue;
    if (auto ip = Ipv4::parse(trim(*text))) out[name.substr(0, name.size() - 4)] = *ip;
  }
  return out;
}

void Store::drop_container_dir_if_unused(const std::string& container) {
  if (!index(container).empty()) return;
  remove_all(container_dir(container));
}

}  // namespace hull::net
