// What ps and top print: tables for people, JSON for scripts.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "frontend/containers.h"
#include "frontend/template.h"

namespace hull::frontend {

// Columns padded to the widest cell plus three spaces, as docker's tabwriter.
std::string table(const std::vector<std::vector<std::string>>& rows);
// Lines of a --format template's output; for a "table" one, the tab-separated cells aligned
// as table() aligns them.
std::string format_lines(const std::vector<std::string>& lines, bool aligned);

// `hull ps`'s choice of rows, as docker's: -a (all), -n N (the N newest, any state), -l (the
// newest), --filter KEY=VALUE (name=, id=, status=, label=KEY[=VALUE], network=; the same key
// twice matches either, different keys must all match). Throws on a filter it does not know.
struct PsOptions {
  bool all = false, latest = false, size = false;
  std::optional<size_t> last;
  std::vector<std::string> filters;
};
std::vector<Status> ps_select(const Env& env, const PsOptions& options);

// "127.0.0.1:8080->80/tcp" for each published port, "80/tcp" for an exposed one, docker's way.
std::string ports_column(const Meta& m);
// docker ps's fields of a row (ID, Image, Command, CreatedAt, RunningFor, Ports, State,
// Status, Size, Names, Labels, Mounts, Networks) for --format templates.
nlohmann::ordered_json ps_fields(const Env& env, const Status& s, bool size);

std::string ps_table(const Env& env, const std::vector<Status>& rows, bool size);
std::string ps_json(const Env& env, const std::vector<Status>& rows);
// docker's `ps --format json`: one object of ps_fields per line.
std::string ps_json_lines(const Env& env, const std::vector<Status>& rows, bool size);
std::string top_table(const Env& env, const std::string& ref);

// The image as given ("busybox", "host"), or the --rootfs directory.
std::string image_column(const Meta& m);

// A command line as docker's ps shows it: quoted, cut at `width` characters.
std::string short_command(const std::vector<std::string>& args, size_t width);

}  // namespace hull::frontend
