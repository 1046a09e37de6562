// The default seccomp profile: an allow-list equal in effect to the default profile of Docker
// and Podman (moby/profiles, 2026): the same syscalls allowed to every container, the same
// argument rules (socket families, personality values, clone without namespace flags), and
// the same syscalls unlocked by the same capabilities. `hull-oci spec` writes it for the
// default capabilities; the friendly face resolves it for the capabilities it grants.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "oci/spec.h"

namespace hull::oci {

// The architecture family hull was built for ("x86_64", "aarch64", ...).
std::string_view native_arch_family();

// The profile for a process with these capabilities ("CAP_SYS_ADMIN", ...) on `arch_family`.
Seccomp default_seccomp_profile(const std::vector<std::string>& capabilities,
                                std::string_view arch_family = native_arch_family());

}  // namespace hull::oci
