// The vocabularies of runtime-spec: which names are valid in which field. Pure tables.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "oci/spec.h"

namespace hull::oci {

std::optional<NamespaceType> namespace_type_from_name(std::string_view name);
std::span<const std::string_view> capability_names();  // CAP_CHOWN ... in kernel number order
bool is_capability_name(std::string_view name);
std::span<const std::string_view> rlimit_names();
bool is_rlimit_name(std::string_view name);
bool is_sched_policy(std::string_view name);
bool is_sched_flag(std::string_view name);
std::span<const std::string_view> seccomp_actions();
bool is_seccomp_action(std::string_view name);
std::span<const std::string_view> seccomp_archs();
bool is_seccomp_arch(std::string_view name);
std::span<const std::string_view> seccomp_flags();
bool is_seccomp_flag(std::string_view name);
std::span<const std::string_view> seccomp_ops();
bool is_seccomp_op(std::string_view name);
bool is_propagation(std::string_view name);

}  // namespace hull::oci
