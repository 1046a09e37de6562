#include "util/id_range.h"

#include <string>

#include "util/fs.h"
#include "util/strings.h"

namespace hull {

std::optional<IdRange> subordinate_range(std::string_view subid_text, std::string_view user,
                                         uint32_t id) {
  std::string number = std::to_string(id);
  for (const auto& line : split(std::string(subid_text), '\n')) {
    auto f = split(std::string(trim(line)), ':');
    if (f.size() != 3 || (f[0] != user && f[0] != number)) continue;
    auto start = parse_u64(f[1]), count = parse_u64(f[2]);
    if (start && count && *count > 0 && *start + *count <= UINT32_MAX)
      return IdRange{0, static_cast<uint32_t>(*start), static_cast<uint32_t>(*count)};
  }
  return std::nullopt;
}

std::optional<IdRange> subordinate_range_in(const std::string& file, std::string_view user,
                                            uint32_t id) {
  auto text = read_file_if_exists(file);
  if (!text) return std::nullopt;
  return subordinate_range(*text, user, id);
}

}  // namespace hull
