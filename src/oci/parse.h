// config.json -> oci::Spec. Unknown fields are ignored (runtime-spec: "implementations MUST
// ignore unknown properties"); wrong types and invalid values throw an Error naming the JSON
// path and value, before anything is created.
#pragma once

#include <string>
#include <string_view>

#include "oci/spec.h"

namespace hull::oci {

Spec parse_spec(std::string_view text);
// Reads BUNDLE/config.json; root.path stays as written (see resolve_root_path).
Spec load_spec(const std::string& bundle);
// A process.json as engines pass it to `exec --process`.
Process parse_process(std::string_view text);
// linux.resources as `update --resources` takes it.
Resources parse_resources(std::string_view text);
// linux.seccomp on its own (a profile file, as `hull run --security-opt seccomp=FILE` takes it).
Seccomp parse_seccomp_profile(std::string_view text);

// Checks what the types alone do not: required fields, known names, ranges, consistency.
void validate(const Spec& spec);
void validate_process(const Process& process, const std::string& path);

}  // namespace hull::oci
