#include "frontend/events.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "frontend/human.h"
#include "frontend/template.h"
#include "frontend/views.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::frontend {
namespace {

using ojson = nlohmann::ordered_json;

std::string events_path(const Env& env) {
  return path_join(env.state_dir, "events.log");
}

// "2026-12-02T14:02:01.123456789Z" from the event's nanoseconds.
std::string time_text(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1000000000);
  struct tm tm;
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09}Z", buf, ns % 1000000000);
}

bool matches(const ojson& e, const std::map<std::string, std::vector<std::string>>& filters) {
  const ojson& attrs = e["Actor"]["Attributes"];
  auto attr = [&](const char* k) { return attrs.value(k, std::string()); };
  for (const auto& filter : filters) {
    const std::string& key = filter.first;  // clang 14 cannot capture a structured binding
    const std::vector<std::string>& values = filter.second;
    bool any = std::any_of(values.begin(), values.end(), [&](const std::string& v) {
      if (key == "container") {
        std::string id = e.value("id", "");
        return v == attr("name") || (!v.empty() && id.rfind(v, 0) == 0);
      }
      if (key == "event") return v == e.value("Action", "");
      if (key == "type") return v == e.value("Type", "");
      if (key == "image") return v == attr("image");
      if (key == "label") {
        auto eq = v.find('=');
        std::string k = v.substr(0, eq);
        return attrs.contains(k) &&
               (eq == std::string::npos || attr(k.c_str()) == v.substr(eq + 1));
      }
      return false;
    });
    if (!any) return false;
  }
  return true;
}

// events.log open for appending, once per process: a `run` records create, start, die and
// destroy, and opening it (and making the state directory) for each cost a path walk apiece
// (issue 17). Opened again when another state directory is asked for, or when the file was
// removed since (a writer must not append to a file nobody can read any more). The fd is
// known by its file too: a process that closed its fds (the monitor does) and got the number
// back for another file must not write events there, nor close what is not ours.
struct EventsFd {
  std::string path;
  int fd = -1;
  dev_t dev = 0;
  ino_t ino = 0;
};
EventsFd g_events;

int events_fd(const Env& env) {
  std::string path = events_path(env);
  struct stat st;
  if (g_events.fd >= 0) {
    bool ours =
        ::fstat(g_events.fd, &st) == 0 && st.st_dev == g_events.dev && st.st_ino == g_events.ino;
    if (ours && path == g_events.path && st.st_nlink > 0) return g_events.fd;
    if (ours) ::close(g_events.fd);
    g_events = {};
  }
  constexpr int kFlags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
  Fd f(::open(path.c_str(), kFlags, 0640));
  if (!f && errno == ENOENT) {
    mkdir_p(env.state_dir, 0711);
    f = open_or_fail(path, kFlags, 0640);
  }
  if (!f) fail_errno("open {}", path);
  if (::fstat(f.get(), &st) < 0) fail_errno("stat {}", path);
  g_events = {path, f.release(), st.st_dev, st.st_ino};
  return g_events.fd;
}

}  // namespace

void record_event(const Env& env, const std::string& action, const Meta& m,
                  const std::map<std::string, std::string>& extra) {
  try {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    std::string image = image_column(m);
    ojson attrs = {{"image", image}, {"name", m.name}};
    for (const auto& [k, v] : m.labels) attrs[k] = v;
    for (const auto& [k, v] : extra) attrs[k] = v;
    ojson e = {{"status", action}, {"id", m.id},
               {"from", image},    {"Type", "container"},
               {"Action", action}, {"Actor", {{"ID", m.id}, {"Attributes", attrs}}},
               {"scope", "local"}, {"time", ts.tv_sec},
               {"timeNano", ns}};
    // One write of one line with O_APPEND: lines of concurrent writers never interleave.
    write_all(events_fd(env), e.dump() + "\n", "events.log");
  } catch (const std::exception& e) {
    log::debug("event {} of {}: {}", action, m.name, e.what());
  }
}

void forget_events_fd() {
  g_events = {};
}

std::optional<int> last_exit_code(const Env& env, const std::string& id) {
  std::optional<int> code;
  auto text = read_file_if_exists(events_path(env)).value_or("");
  for (const auto& line : split(text, '\n')) {
    if (line.find(id) == std::string::npos || line.find("\"die\"") == std::string::npos) continue;
    auto e = ojson::parse(line, nullptr, false);
    if (!e.is_object() || e.value("id", "") != id || e.value("Action", "") != "die") continue;
    try {
      code =
          static_cast<int>(parse_i64(e["Actor"]["Attributes"].value("exitCode", "")).value_or(-1));
    } catch (const std::exception&) {
    }
  }
  return code;
}

void print_events(const Env& env, const EventOptions& o) {
  std::map<std::string, std::vector<std::string>> filters;
  for (const auto& f : o.filters) {
    auto eq = f.find('=');
    std::string key = f.substr(0, eq);
    static const std::vector<std::string> kKeys = {"container", "event", "type", "label", "image"};
    if (eq == std::string::npos || std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end())
      fail("--filter: {} is not a filter events knows (container=, event=, type=, label=, image=)",
           quote(f));
    filters[key].push_back(f.substr(eq + 1));
  }
  std::optional<Template> tmpl;
  if (!o.format.empty() && o.format != "json") tmpl.emplace("--format", o.format);
  mkdir_p(env.state_dir, 0711);
  Fd fd = open_or_fail(events_path(env), O_RDONLY | O_CREAT | O_CLOEXEC, 0640);
  // Live only, unless --since asks for what was.
  if (!o.since && ::lseek(fd.get(), 0, SEEK_END) < 0) fail_errno("seek events.log");
  std::string rest;
  auto emit_new = [&] {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n <= 0) break;
      rest.append(buf, static_cast<size_t>(n));
    }
    size_t start = 0;
    for (size_t nl; (nl = rest.find('\n', start)) != std::string::npos; start = nl + 1) {
      auto e = ojson::parse(rest.substr(start, nl - start), nullptr, false);
      if (!e.is_object() || !e.contains("Actor")) continue;
      double t = static_cast<double>(e.value("timeNano", int64_t{0})) / 1e9;
      if ((o.since && t < *o.since) || (o.until && t > *o.until) || !matches(e, filters)) continue;
      std::string line;
      if (o.format == "json") {
        line = e.dump();
      } else if (tmpl) {
        line = tmpl->render(e);
      } else {
        std::vector<std::string> attrs;
        for (const auto& [k, v] : e["Actor"]["Attributes"].items())
          attrs.push_back(k + "=" + v.get<std::string>());
        line = fmt::format("{} container {} {} ({})", time_text(e.value("timeNano", int64_t{0})),
                           e.value("Action", ""), e.value("id", ""), join(attrs, ", "));
      }
      line += "\n";
      write_all(1, line, "stdout");
    }
    rest.erase(0, start);
  };
  for (;;) {
    emit_new();
    if (o.until && now_seconds() > *o.until) {
      emit_new();
      return;
    }
    sleep_ms(100);
  }
}

}  // namespace hull::frontend
