// Translation from oci::Spec to what linux/ and the init need: the one place the two meet.
#pragma once

#include <string>

#include "cgroup/manager.h"
#include "runtime/init.h"
#include "runtime/runtime.h"

namespace hull::runtime {

// root.path: absolute (podman) or relative to the bundle (containerd); must be a directory.
std::string resolve_rootfs(const oci::Spec& spec, const std::string& bundle);

// The state dir's subdirectory an overlay root's tmpfs is mounted on (annotations.h).
inline constexpr const char* kOverlayScratchDir = "rootfs";

// Fills everything of the plan that comes from the spec. Opens namespace paths.
// Throws errors naming the config.json field.
void build_plan(InitPlan& plan, const oci::Spec& spec, const CreateOptions& opts, const std::string& rootfs,
                cgroup::Manager* cgroup, const std::string& seccomp_cache);

// linux.resources as the cgroup gets it. The nodes of linux.devices are not added to the
// device rules: linux.resources.devices alone decides (runc, crun), so a deny-all denies them.
oci::Resources cgroup_resources(const oci::Spec& spec);

// CLONE_NEW* of a namespace type.
int namespace_flag(oci::NamespaceType type);

// clone flags for the namespaces created by clone3 itself (fast path).
int clone_flags(const InitPlan& plan, const oci::Spec& spec);

// linux.uidMappings (or a mount's) as the kernel's map lines take them.
std::vector<linux::IdRange> id_ranges(const std::vector<oci::IdMapping>& mappings);

}  // namespace hull::runtime
