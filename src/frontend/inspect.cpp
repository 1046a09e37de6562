#include "frontend/inspect.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "frontend/containers.h"
#include "frontend/human.h"
#include "frontend/images.h"
#include "frontend/views.h"
#include "net/options.h"
#include "runtime/annotations.h"
#include "runtime/inspect.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::frontend {
namespace {

using ojson = nlohmann::ordered_json;

struct Facts {
  Status status;
  std::optional<runtime::ContainerInfo> info;
  std::vector<NetInterface> nets;
};

Facts gather(const Env& env, const std::string& ref) {
  Store store(env);
  Facts f;
  std::string id = store.resolve(ref);
  f.status = status(env, id);
  if (f.status.oci) {
    try {
      f.info = runtime::describe(env.ctx(), id);
    } catch (const Error&) {
      // deleted between the two looks: shown as exited
    }
  }
  bool running = f.info && f.status.state != State::exited;
  f.nets = container_networks(env, id, running ? f.info->state.pid : 0,
                              running ? f.info->state.pid_start_time : 0);
  return f;
}

// Byte counts in memory files are easier to read with a unit; "no limit" for v1's huge max.
std::string annotate(const std::string& file, const std::string& value) {
  if (file.rfind("memory.", 0) != 0) return value;
  auto n = parse_u64(value);
  if (!n) return value;
  if (*n >= (1ULL << 62)) return value + " (no limit)";
  return fmt::format("{} ({})", value, human_bytes(static_cast<double>(*n)));
}

std::string map_words(const std::vector<IdRange>& map, const char* what) {
  if (map.empty()) return fmt::format("no {} map", what);
  std::string out;
  for (const auto& m : map) {
    if (!out.empty()) out += ", ";
    bool identity = m.inside == 0 && m.outside == 0 && m.count == 4294967295u;
    if (identity) return fmt::format("{}s are the host's (no user namespace of its own)", what);
    out += fmt::format("{} {}-{} inside = {}-{} on the host", what, m.inside,
                       m.inside + m.count - 1, m.outside, m.outside + m.count - 1);
  }
  return out;
}

pid_t inner_pid(const runtime::ProcessInfo& p) {
  return p.ns_pids.empty() ? 0 : p.ns_pids.back();
}

// What the monitor of a detached container said of its own (monitor.log: the logrus lines of
// util/log, `time="..." level=warning msg="..."`), debug lines left out: the last 20.
struct MonitorLine {
  std::string time, level, message;
};
std::vector<MonitorLine> monitor_lines(const Env& env, const std::string& id) {
  std::vector<MonitorLine> found;
  std::string text = read_file_if_exists(Store(env).monitor_log_path(id)).value_or("");
  for (const auto& line : split(text, '\n')) {
    auto t = line.find("time=\""), l = line.find("\" level="), msg = line.find(" msg=");
    if (t != 0 || l == std::string::npos || msg == std::string::npos || msg < l) continue;
    MonitorLine m;
    m.time = line.substr(6, l - 6);
    m.level = line.substr(l + 8, msg - l - 8);
    auto v = ojson::parse(line.substr(msg + 5), nullptr, false);
    m.message = v.is_string() ? v.get<std::string>() : line.substr(msg + 5);
    if (m.level != "debug") found.push_back(std::move(m));
  }
  if (found.size() > 20) found.erase(found.begin(), found.end() - 20);
  return found;
}

}  // namespace

std::string inspect_text(const Env& env, const std::string& ref) {
  Facts f = gather(env, ref);
  const Meta& m = f.status.meta;
  std::string out;
  out += fmt::format("Container {} ({})\n", m.name, m.id);
  out += fmt::format("  State:    {}\n", f.status.text);
  out += fmt::format("  Command:  {}\n", join(m.command, " "));
  if (!m.image_id.empty()) {
    image::Store images = image_store(env);
    out += fmt::format("  Image:    {} ({})\n", m.image, m.image_id.substr(7, 12));
    out += fmt::format("  Root:     overlay of {} image layers (top first), writable layer {}\n",
                       m.image_layers.size(), Store(env).dir(m.id) + "/layer/upper");
    for (auto it = m.image_layers.rbegin(); it != m.image_layers.rend(); ++it)
      out += fmt::format("            {}\n", images.layer_root(*it));
    if (!m.exposed_ports.empty())
      out += fmt::format("  Exposed:  {}\n", join(m.exposed_ports, ", "));
  } else {
    out += fmt::format(
        "  Root:     {}\n",
        m.rootfs.empty() ? "the host's /, read-only, with a throw-away overlay on top" : m.rootfs);
  }
  out += fmt::format("  Created:  {}\n", human_ago(m.created));
  if (m.oom_killed) out += "  Killed by the kernel's OOM killer at its memory limit\n";
  if (auto said = monitor_lines(env, m.id); !said.empty()) {
    out += fmt::format("  hull's monitor said ({}):\n", Store(env).monitor_log_path(m.id));
    for (const auto& l : said)
      out += fmt::format("            {} {}: {}\n", l.time, l.level, printable(l.message));
  }
  if (!f.info || f.status.state == State::exited) {
    out += "\nIt does not run, so it has no namespaces or processes to show.\n";
    return out;
  }
  const auto& info = *f.info;
  out += fmt::format("  PID:      {} on the host, 1 inside\n", info.state.pid);

  out += "\nNamespaces (its own, or shared with the host; the number is the namespace's inode):\n";
  std::vector<std::vector<std::string>> ns;
  for (const auto& n : info.namespaces)
    ns.push_back({"  " + n.kind, std::to_string(n.inode),
                  n.own ? fmt::format("own (host: {})", n.host_inode) : "shared with the host",
                  n.own ? n.isolates : ""});
  out += table(ns);

  out += "\nProcesses (PID on the host -> PID inside the container):\n";
  std::vector<std::vector<std::string>> ps;
  for (const auto& p : info.processes)
    ps.push_back(
        {"  " + std::to_string(p.host_pid), "->", std::to_string(inner_pid(p)), p.command});
  out += table(ps);

  out += "\nUsers:\n";
  out += "  " + map_words(info.uid_map, "uid") + "\n";
  out += "  " + map_words(info.gid_map, "gid") + "\n";

  out += "\nCgroups (the container's directory in each hierarchy, its limits and usage):\n";
  if (!info.state.cgroup_unit.empty())
    out += fmt::format("  systemd unit {} (cgroup manager systemd)\n", info.state.cgroup_unit);
  for (const auto& c : info.cgroups) {
    out += fmt::format("  {}{}\n", c.hierarchy.empty() ? "" : c.hierarchy + ": ", c.dir);
    for (const auto& [file, value] : c.files)
      out += fmt::format("      {} = {}\n", file, annotate(file, value));
  }

  out += fmt::format("\nNetwork: {}\n", m.network);
  for (const auto& n : f.nets) {
    out += fmt::format("  {} on {}: {} (gateway {}), veth pair {} <-> {} on the host's bridge\n",
                       n.ifname, n.network, n.address, n.gateway, n.ifname, n.host_link);
    out += fmt::format("      received {} in {} packets, sent {} in {} packets\n",
                       human_bytes_decimal(static_cast<double>(n.rx_bytes)), n.rx_packets,
                       human_bytes_decimal(static_cast<double>(n.tx_bytes)), n.tx_packets);
    if (!n.rate.empty()) out += fmt::format("      shaped to {} each way\n", n.rate);
    for (const auto& p : n.ports) out += fmt::format("      published {}\n", p);
  }

  out += "\nMounts (as the container sees them):\n";
  std::vector<std::vector<std::string>> mt;
  for (const auto& mnt : info.mounts)
    mt.push_back({"  " + mnt.mount_point, mnt.fstype, mnt.source, mnt.options});
  out += table(mt);
  return out;
}

namespace {

// "127.0.0.1:8080:80/tcp" -> ("80/tcp", {"HostIp": "127.0.0.1", "HostPort": "8080"}).
std::pair<std::string, ojson> docker_port(const std::string& publish) {
  try {
    net::Port p = net::parse_publish(publish);
    return {fmt::format("{}/{}", p.container_port, p.proto),
            {{"HostIp", p.host_ip.str()}, {"HostPort", std::to_string(p.host_port)}}};
  } catch (const Error&) {
    return {publish, ojson::object()};
  }
}

// docker inspect's own fields, from the stored config.json, the meta and the live facts.
void add_docker_fields(const Env& env, const Facts& f, ojson& j) {
  const Meta& m = f.status.meta;
  ojson spec = ojson::object();
  try {
    spec = ojson::parse(read_file(Store(env).config_path(m.id)));
  } catch (const std::exception& e) {
    log::debug("inspect {}: config: {}", m.name, e.what());
  }
  const ojson none = ojson::object();
  auto at = [&](const ojson& o, const char* k) -> const ojson& {
    auto it = o.find(k);
    return it == o.end() || it->is_null() ? none : *it;
  };
  const ojson& process = at(spec, "process");
  const ojson& resources = at(at(spec, "linux"), "resources");
  bool running = f.info && f.status.state != State::exited;
  State st = f.status.state;
  j["Id"] = m.id;
  j["Created"] = m.created;
  std::vector<std::string> args = m.command;
  j["Path"] = args.empty() ? "" : args[0];
  j["Args"] = args.size() > 1 ? std::vector<std::string>(args.begin() + 1, args.end())
                              : std::vector<std::string>{};
  j["State"] = {{"Status", st == State::exited ? "exited" : state_name(st)},
                {"Running", st == State::running || st == State::paused},
                {"Paused", st == State::paused},
                {"Restarting", false},
                {"OOMKilled", m.oom_killed},
                {"Dead", false},
                {"Pid", running ? f.info->state.pid : 0},
                {"ExitCode", m.exit_code.value_or(0)},
                {"Error", ""},
                {"StartedAt", m.started.empty() ? "0001-01-01T00:00:00Z" : m.started},
                {"FinishedAt", m.finished.empty() ? "0001-01-01T00:00:00Z" : m.finished}};
  j["Image"] = m.image_id.empty() ? image_column(m) : m.image_id;
  j["LogPath"] = Store(env).log_path(m.id);
  j["Name"] = "/" + m.name;
  j["Driver"] = m.image_id.empty() ? "" : "overlay";

  ojson binds = ojson::array(), mounts = ojson::array(), tmpfs = ojson::object();
  for (const auto& mt : at(spec, "mounts").is_array() ? spec["mounts"] : ojson::array()) {
    std::string dest = mt.value("destination", ""), type = mt.value("type", "");
    auto opts = mt.value("options", std::vector<std::string>{});
    bool ro = std::find(opts.begin(), opts.end(), "ro") != opts.end();
    if (type == "tmpfs" && dest != "/dev" && dest != "/dev/shm" && dest != "/tmp" &&
        dest != "/run") {
      tmpfs[dest] = "";
      continue;
    }
    if (type != "bind" || dest == "/etc/hostname" || dest == "/etc/hosts" ||
        dest == "/etc/resolv.conf" || dest == "/sys")
      continue;
    std::string src = mt.value("source", "");
    binds.push_back(src + ":" + dest + (ro ? ":ro" : ""));
    mounts.push_back({{"Type", "bind"},
                      {"Source", src},
                      {"Destination", dest},
                      {"Mode", ro ? "ro" : ""},
                      {"RW", !ro},
                      {"Propagation", "rprivate"}});
  }
  ojson port_bindings = ojson::object();
  for (const auto& p : m.net.publish) {
    auto [key, binding] = docker_port(p);
    port_bindings[key].push_back(binding);
  }
  const ojson& mem = at(resources, "memory");
  const ojson& cpu = at(resources, "cpu");
  int64_t quota = cpu.value("quota", int64_t{0}), period = cpu.value("period", uint64_t{0});
  j["HostConfig"] = {{"Binds", binds},
                     {"NetworkMode", m.network},
                     {"PortBindings", port_bindings},
                     {"AutoRemove", m.auto_remove},
                     {"Privileged", false},
                     {"ReadonlyRootfs", at(spec, "root").value("readonly", false)},
                     {"Tmpfs", tmpfs},
                     {"CgroupParent", env.cgroup_parent},
                     {"Memory", mem.value("limit", int64_t{0})},
                     {"MemorySwap", mem.value("swap", int64_t{0})},
                     {"MemoryReservation", mem.value("reservation", int64_t{0})},
                     {"NanoCpus", quota > 0 && period > 0 ? quota * 1000000000 / period : 0},
                     {"CpuShares", cpu.value("shares", uint64_t{0})},
                     {"CpuQuota", quota},
                     {"CpuPeriod", period},
                     {"CpusetCpus", cpu.value("cpus", "")},
                     {"CpusetMems", cpu.value("mems", "")},
                     {"PidsLimit", at(resources, "pids").value("limit", int64_t{0})},
                     {"BlkioWeight", at(resources, "blockIO").value("weight", 0)},
                     {"Init", at(spec, "annotations").contains(runtime::kInitAnnotation)}};
  j["Mounts"] = mounts;

  ojson exposed = ojson::object();
  for (const auto& p : m.exposed_ports) exposed[p] = ojson::object();
  for (const auto& [key, b] : port_bindings.items()) exposed[key] = ojson::object();
  const ojson& user = at(process, "user");
  uint32_t uid = user.value("uid", 0u), gid = user.value("gid", 0u);
  j["Config"] = {{"Hostname", spec.value("hostname", "")},
                 {"Domainname", ""},
                 {"User", uid == 0 && gid == 0 ? "" : fmt::format("{}:{}", uid, gid)},
                 {"AttachStdin", false},
                 {"AttachStdout", !m.detached},
                 {"AttachStderr", !m.detached},
                 {"ExposedPorts", exposed},
                 {"Tty", m.tty},
                 {"OpenStdin", false},
                 {"Env", process.value("env", std::vector<std::string>{})},
                 {"Cmd", m.command},
                 {"Image", image_column(m)},
                 {"WorkingDir", process.value("cwd", "/")},
                 {"Entrypoint", nullptr},
                 {"Labels", m.labels},
                 {"StopSignal", m.stop_signal.empty() ? "SIGTERM" : m.stop_signal}};

  ojson networks = ojson::object(), ports = ojson::object();
  for (const auto& [key, b] : port_bindings.items()) ports[key] = b;
  for (const auto& p : m.exposed_ports)
    if (!ports.contains(p)) ports[p] = nullptr;
  std::string ip, gateway, mac;
  int prefix = 0;
  for (const auto& n : f.nets) {
    std::string addr = n.address;
    int len = 0;
    if (auto slash = addr.find('/'); slash != std::string::npos) {
      len = static_cast<int>(parse_u64(addr.substr(slash + 1)).value_or(0));
      addr.resize(slash);
    }
    networks[n.network] = {{"IPAddress", addr},
                           {"IPPrefixLen", len},
                           {"Gateway", n.gateway},
                           {"MacAddress", n.mac},
                           {"Aliases", m.net.aliases}};
    if (ip.empty()) ip = addr, gateway = n.gateway, mac = n.mac, prefix = len;
  }
  j["NetworkSettings"] = {{"IPAddress", ip},   {"IPPrefixLen", prefix}, {"Gateway", gateway},
                          {"MacAddress", mac}, {"Ports", ports},        {"Networks", networks}};
}

}  // namespace

std::string inspect_json(const Env& env, const std::string& ref) {
  return inspect_value(env, ref).dump(2) + "\n";
}

nlohmann::ordered_json inspect_value(const Env& env, const std::string& ref) {
  Facts f = gather(env, ref);
  const Meta& m = f.status.meta;
  ojson j;
  // docker's top-level fields first (Id, State, Config, HostConfig, Mounts, NetworkSettings),
  // then hull's own, in lower case.
  add_docker_fields(env, f, j);
  j["id"] = m.id;
  j["name"] = m.name;
  j["state"] = state_name(f.status.state);
  j["status"] = f.status.text;
  j["command"] = m.command;
  j["rootfs"] = m.rootfs.empty() ? "host" : m.rootfs;
  if (!m.image.empty()) j["image"] = m.image;
  if (!m.image_id.empty()) {
    image::Store images = image_store(env);
    std::string upper = Store(env).dir(m.id) + "/layer/upper";
    ojson layers = ojson::array();
    for (const auto& l : m.image_layers) layers.push_back(images.layer_root(l));
    j["imageId"] = m.image_id;
    j["imageDigest"] = m.image_manifest;
    j["layers"] = layers;  // base first
    j["upperDir"] = upper;
    j["writableSize"] = image::disk_usage(upper);
    j["exposedPorts"] = m.exposed_ports;
    j["stopSignal"] = m.stop_signal;
  }
  j["created"] = m.created;
  j["started"] = m.started;
  if (!m.finished.empty()) j["finished"] = m.finished;
  if (m.exit_code) j["exitCode"] = *m.exit_code;
  j["oomKilled"] = m.oom_killed;
  // hull's own warnings about it, never in its log (monitor.log, the last 20).
  j["monitorLog"] = Store(env).monitor_log_path(m.id);
  ojson said = ojson::array();
  for (const auto& l : monitor_lines(env, m.id))
    said.push_back({{"time", l.time}, {"level", l.level}, {"message", l.message}});
  j["monitorMessages"] = said;
  bool running = f.info && f.status.state != State::exited;
  j["pid"] = running ? f.info->state.pid : 0;
  std::string unit = f.info ? f.info->state.cgroup_unit : "";
  j["cgroupManager"] = unit.empty() ? "cgroupfs" : "systemd";
  j["systemdUnit"] = unit;
  ojson ns = ojson::array(), procs = ojson::array(), cgroups = ojson::array(),
        mounts = ojson::array();
  ojson uid_map = ojson::array(), gid_map = ojson::array();
  if (running) {
    const auto& info = *f.info;
    for (const auto& n : info.namespaces)
      ns.push_back({{"type", n.kind},
                    {"inode", n.inode},
                    {"hostInode", n.host_inode},
                    {"own", n.own},
                    {"isolates", n.isolates}});
    for (const auto& p : info.processes)
      procs.push_back({{"hostPid", p.host_pid},
                       {"containerPid", inner_pid(p)},
                       {"nsPids", p.ns_pids},
                       {"ppid", p.ppid},
                       {"uid", p.uid},
                       {"state", std::string(1, p.state)},
                       {"command", p.command}});
    for (const auto& c : info.cgroups) {
      ojson files = ojson::object();
      for (const auto& [file, value] : c.files) files[file] = value;
      cgroups.push_back({{"hierarchy", c.hierarchy}, {"path", c.dir}, {"files", files}});
    }
    for (const auto& mnt : info.mounts)
      mounts.push_back({{"destination", mnt.mount_point},
                        {"type", mnt.fstype},
                        {"source", mnt.source},
                        {"options", mnt.options}});
    for (const auto& u : info.uid_map)
      uid_map.push_back({{"inside", u.inside}, {"outside", u.outside}, {"count", u.count}});
    for (const auto& g : info.gid_map)
      gid_map.push_back({{"inside", g.inside}, {"outside", g.outside}, {"count", g.count}});
  }
  j["network"] = m.network;
  ojson nets = ojson::array();
  for (const auto& n : f.nets)
    nets.push_back({{"network", n.network},
                    {"interface", n.ifname},
                    {"hostInterface", n.host_link},
                    {"address", n.address},
                    {"gateway", n.gateway},
                    {"mac", n.mac},
                    {"rate", n.rate},
                    {"ports", n.ports},
                    {"rxBytes", n.rx_bytes},
                    {"txBytes", n.tx_bytes},
                    {"rxPackets", n.rx_packets},
                    {"txPackets", n.tx_packets}});
  j["networks"] = nets;
  j["namespaces"] = ns;
  j["processes"] = procs;
  j["cgroups"] = cgroups;
  j["mounts"] = mounts;
  j["uidMap"] = uid_map;
  j["gidMap"] = gid_map;
  return j;
}

}  // namespace hull::frontend
