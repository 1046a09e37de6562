// Capabilities through libcap: the bounding set is dropped first, then after the user
// switch the effective, permitted, inheritable and ambient sets are set exactly.
#pragma once

#include <string>
#include <vector>

namespace hull::linux {

struct CapSets {
  std::vector<int> bounding, effective, permitted, inheritable, ambient;
};

// "CAP_SYS_ADMIN" -> 21; -1 when libcap does not know the name.
int capability_from_name(const std::string& name);
// Highest capability number the running kernel knows, plus one.
int kernel_capability_count();

// Converts names, skipping the ones this kernel does not know (as runc does) and logging them.
std::vector<int> capabilities_from_names(const std::vector<std::string>& names);

void drop_bounding_set(const std::vector<int>& keep);
void apply_capabilities(const CapSets& caps);

}  // namespace hull::linux
