#include "frontend/views.h"

#include <nlohmann/json.hpp>

#include "frontend/human.h"
#include "runtime/inspect.h"
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

// Published ports, then the image's exposed ones that are not (docker: "80/tcp").
std::string ports_column(const Meta& m) {
  std::vector<std::string> ports = m.net.publish;
  ports.insert(ports.end(), m.exposed_ports.begin(), m.exposed_ports.end());
  return join(ports, ", ");
}

std::string ps_table(const std::vector<Status>& rows) {
  std::vector<std::vector<std::string>> t = {
      {"CONTAINER ID", "IMAGE", "NAME", "COMMAND", "CREATED", "STATUS", "NETWORKS", "PORTS"}};
  for (const auto& s : rows)
    t.push_back({s.meta.id.substr(0, 12), image_column(s.meta), s.meta.name,
                 short_command(s.meta.command, 20), human_ago(s.meta.created), s.text,
                 s.meta.network, ports_column(s.meta)});
  return table(t);
}

std::string ps_json(const std::vector<Status>& rows) {
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
