#include "frontend/check.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "runtime/host_check.h"
#include "util/strings.h"

namespace hull::frontend {
namespace {

bool essential(const runtime::HostFact& f) {
  return f.name == "pid namespace" || f.name == "mnt namespace" || f.name == "cgroup layout";
}

}  // namespace

CheckOutput check_text(bool color) {
  auto facts = runtime::check_host();
  const char* green = color ? "\033[32m" : "";
  const char* red = color ? "\033[31m" : "";
  const char* reset = color ? "\033[0m" : "";
  CheckOutput out;
  std::string area;
  std::vector<std::string> missing;
  for (const auto& f : facts) {
    if (f.area != area) {
      area = f.area;
      out.text += area + ":\n";
    }
    out.text += fmt::format("  {}{}{} {}: {}\n", f.ok ? green : red, f.ok ? "ok     " : "MISSING",
                            reset, f.name, f.detail);
    if (!f.ok) {
      missing.push_back(fmt::format("  {} -> {}", f.name, f.needed_for));
      if (essential(f)) out.essentials_ok = false;
    }
  }
  if (missing.empty()) {
    out.text += "\nEverything hull uses is here.\n";
  } else {
    out.text +=
        "\nWhat is missing, and the hull features that need it:\n" + join(missing, "\n") + "\n";
  }
  return out;
}

std::string check_json() {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& f : runtime::check_host())
    arr.push_back({{"area", f.area},
                   {"name", f.name},
                   {"ok", f.ok},
                   {"detail", f.detail},
                   {"neededFor", f.needed_for}});
  return arr.dump(2) + "\n";
}

}  // namespace hull::frontend
