// oci::Spec -> config.json: the inverse of parse_spec. The friendly face builds a Spec in
// memory and hands its JSON to the runtime, which keeps it as the container's config copy.
// Every field parse_spec reads is written back; absent optionals, empty lists and empty
// strings are left out, so parse_spec(serialize_spec(s)) gives s again.
#pragma once

#include <string>

#include "oci/spec.h"

namespace hull::oci {

// indent < 0: one line; otherwise pretty-printed with that many spaces.
std::string serialize_spec(const Spec& spec, int indent = 2);
std::string serialize_process(const Process& process, int indent = -1);
std::string serialize_resources(const Resources& resources, int indent = -1);
std::string serialize_seccomp(const Seccomp& seccomp, int indent = -1);

}  // namespace hull::oci
