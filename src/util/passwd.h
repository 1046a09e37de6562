// /etc/passwd as text: the friendly face's -u lookups and the HOME a container process gets
// when its environment has none (runc's rule) read it the same way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hull {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
  std::string home, shell;
};

// Lines that are not 7 fields with numeric ids are skipped, as libc skips them.
std::vector<PasswdEntry> parse_passwd(const std::string& text);

// The home directory of the first entry with `uid`; "/" when there is none or it is empty.
std::string home_of(const std::string& passwd_text, uint32_t uid);

}  // namespace hull
