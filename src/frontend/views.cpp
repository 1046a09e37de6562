#include "frontend/views.h"

#include <nlohmann/json.hpp>

#include <time.h>

#include <algorithm>
#include <map>

#include "frontend/human.h"
#include "image/store.h"
#include "net/options.h"
#include "runtime/inspect.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::frontend {

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 3, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string format_lines(const std::vector<std::string>& lines, bool aligned) {
  if (!aligned) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : lines) rows.push_back(split(l, '\t'));
  return table(rows);
}

std::string short_command(const std::vector<std::string>& args, size_t width) {
  std::string cmd = join(args, " ");
  if (cmd.size() > width) cmd = cmd.substr(0, width - 3) + "...";
  return "\"" + cmd + "\"";
}

// The image as given ("busybox", "host"), or the --rootfs directory.
std::string image_column(const Meta& m) {
  if (!m.rootfs.empty()) return m.rootfs;
  return m.image.empty() ? "host" : m.image;
}

std::string ports_column(const Meta& m) {
  std::vector<std::string> ports;
  std::vector<std::string> published;
  for (const auto& p : m.net.publish) {
    try {
      net::Port port = net::parse_publish(p);
      ports.push_back(fmt::format("{}:{}->{}/{}", port.host_ip.str(), port.host_port,
                                  port.container_port, port.proto));
      published.push_back(fmt::format("{}/{}", port.container_port, port.proto));
    } catch (const Error&) {
      ports.push_back(p);
    }
  }
  for (const auto& e : m.exposed_ports)
    if (std::find(published.begin(), published.end(), e) == published.end()) ports.push_back(e);
  return join(ports, ", ");
}

namespace {

std::string labels_column(const Meta& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m.labels) out.push_back(k + "=" + v);
  return join(out, ",");
}

// docker's CreatedAt: "2026-12-02 14:02:01 +0000 UTC".
std::string created_at(const std::string& rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  if (!t) return rfc3339;
  time_t secs = static_cast<time_t>(*t);
  struct tm tm;
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return buf;
}

std::string size_column(const Env& env, const Meta& m) {
  if (m.image_id.empty()) return "0B";
  uint64_t n = image::disk_usage(Store(env).dir(m.id) + "/layer/upper");
  return human_bytes_decimal(static_cast<double>(n));
}

bool matches(const Env& env, const Status& s, const std::string& key, const std::string& value) {
  const Meta& m = s.meta;
  if (key == "name") return m.name.find(value) != std::string::npos;
  if (key == "id") return m.id.rfind(value, 0) == 0;
  if (key == "status") return value == state_name(s.state);
  if (key == "network") {
    if (value == m.network) return true;
    return std::find(m.net.networks.begin(), m.net.networks.end(), value) != m.net.networks.end();
  }
  if (key == "label") {
    auto eq = value.find('=');
    auto it = m.labels.find(value.substr(0, eq));
    return it != m.labels.end() && (eq == std::string::npos || it->second == value.substr(eq + 1));
  }
  (void)env;
  return false;
}

}  // namespace

std::vector<Status> ps_select(const Env& env, const PsOptions& o) {
  std::map<std::string, std::vector<std::string>> filters;
  for (const auto& f : o.filters) {
    auto eq = f.find('=');
    std::string key = f.substr(0, eq);
    static const std::vector<std::string> kKeys = {"name", "id", "status", "label", "network"};
    if (eq == std::string::npos || std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end())
      fail("--filter: {} is not a filter this ps knows (name=, id=, status=, label=, network=)",
           quote(f));
    std::string value = f.substr(eq + 1);
    if (key == "status" && value != "created" && value != "running" && value != "paused" &&
        value != "exited")
      fail("--filter: {}: the status is one of created, running, paused, exited", quote(f));
    filters[key].push_back(value);
  }
  bool any_state = o.all || o.last || o.latest || filters.count("status");
  std::vector<Status> out;
  for (auto& s : list(env, any_state)) {
    bool keep = std::all_of(filters.begin(), filters.end(), [&](const auto& f) {
      return std::any_of(f.second.begin(), f.second.end(),
                         [&](const auto& v) { return matches(env, s, f.first, v); });
    });
    if (keep) out.push_back(std::move(s));
  }
  size_t limit = o.latest ? 1 : o.last ? *o.last : out.size();
  if (out.size() > limit) out.resize(limit);
  return out;
}

nlohmann::ordered_json ps_fields(const Env& env, const Status& s, bool size) {
  const Meta& m = s.meta;
  nlohmann::ordered_json j;
  j["ID"] = m.id.substr(0, 12);
  j["Image"] = image_column(m);
  j["Command"] = short_command(m.command, 20);
  j["CreatedAt"] = created_at(m.created);
  j["RunningFor"] = human_ago(m.created);
  j["Ports"] = ports_column(m);
  j["State"] = state_name(s.state);
  j["Status"] = s.text;
  j["Size"] = size ? size_column(env, m) : "";
  j["Names"] = m.name;
  j["Labels"] = labels_column(m);
  // docker's: the volumes' names (here the named ones), and how many volumes it has.
  j["Mounts"] = join(m.volumes, ",");
  std::string anon = Store(env).dir(m.id) + "/volumes";
  size_t anonymous = path_exists(anon) ? list_dir(anon).size() : 0;
  j["LocalVolumes"] = std::to_string(m.volumes.size() + anonymous);
  j["Networks"] = m.network;
  return j;
}

std::string ps_table(const Env& env, const std::vector<Status>& rows, bool size) {
  std::vector<std::vector<std::string>> t = {
      {"CONTAINER ID", "IMAGE", "NAME", "COMMAND", "CREATED", "STATUS", "NETWORKS", "PORTS"}};
  if (size) t[0].push_back("SIZE");
  for (const auto& s : rows) {
    t.push_back({s.meta.id.substr(0, 12), image_column(s.meta), s.meta.name,
                 short_command(s.meta.command, 20), human_ago(s.meta.created), s.text,
                 s.meta.network, ports_column(s.meta)});
    if (size) t.back().push_back(size_column(env, s.meta));
  }
  return table(t);
}

std::string ps_json_lines(const Env& env, const std::vector<Status>& rows, bool size) {
  std::string out;
  for (const auto& s : rows) out += ps_fields(env, s, size).dump() + "\n";
  return out;
}

std::string ps_json(const Env& /*env*/, const std::vector<Status>& rows) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& s : rows) {
    nlohmann::ordered_json j;
    j["id"] = s.meta.id;
    j["name"] = s.meta.name;
    j["state"] = state_name(s.state);
    j["status"] = s.text;
    j["command"] = s.meta.command;
    j["created"] = s.meta.created;
    j["rootfs"] = s.meta.rootfs.empty() ? "host" : s.meta.rootfs;
    j["image"] = image_column(s.meta);
    j["exposedPorts"] = s.meta.exposed_ports;
    j["networks"] = s.meta.net.networks;
    j["ports"] = s.meta.net.publish;
    j["labels"] = s.meta.labels;
    j["pid"] = s.oci && s.state != State::exited ? s.oci->pid : 0;
    if (s.meta.exit_code) j["exitCode"] = *s.meta.exit_code;
    j["oomKilled"] = s.meta.oom_killed;
    arr.push_back(j);
  }
  return arr.dump(2) + "\n";
}

std::string top_table(const Env& env, const std::string& ref) {
  std::string id = running_id(env, ref);
  auto procs = runtime::processes(env.ctx(), id);
  std::vector<std::vector<std::string>> t = {
      {"PID", "PID INSIDE", "PPID", "UID", "STATE", "TIME", "COMMAND"}};
  long hz = runtime::clock_ticks();
  for (const auto& p : procs) {
    long secs = static_cast<long>(p.cpu_ticks / static_cast<uint64_t>(hz));
    t.push_back(
        {std::to_string(p.host_pid), p.ns_pids.empty() ? "?" : std::to_string(p.ns_pids.back()),
         std::to_string(p.ppid), std::to_string(p.uid), std::string(1, p.state),
         fmt::format("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60), p.command});
  }
  return table(t);
}

}  // namespace hull::frontend
