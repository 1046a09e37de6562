// What ps and top print: tables for people, JSON for scripts.
#pragma once

#include <string>
#include <vector>

#include "frontend/containers.h"

namespace hull::frontend {

// Columns padded to the widest cell plus three spaces, as docker's tabwriter.
std::string table(const std::vector<std::vector<std::string>>& rows);

std::string ps_table(const std::vector<Status>& rows);
std::string ps_json(const std::vector<Status>& rows);
std::string top_table(const Env& env, const std::string& ref);

// A command line as docker's ps shows it: quoted, cut at `width` characters.
std::string short_command(const std::vector<std::string>& args, size_t width);

}  // namespace hull::frontend
