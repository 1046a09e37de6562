// Small file helpers. All fds are O_CLOEXEC; errors name the path.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/fd.h"

namespace hull {

// Opens or fails with "open PATH: <errno>".
Fd open_or_fail(const std::string& path, int flags, mode_t mode = 0);
Fd openat_or_fail(int dirfd, const std::string& path, int flags, mode_t mode = 0);

std::string read_file(const std::string& path);
std::string read_fd(int fd);
// nullopt when the file does not exist; other errors throw.
std::optional<std::string> read_file_if_exists(const std::string& path);

// Writes all of data to an existing file (sysfs/cgroupfs/procfs style: no O_CREAT, no O_TRUNC).
void write_existing(const std::string& path, std::string_view data);
void write_existing_at(int dirfd, const std::string& name, std::string_view data);
// Creates or truncates.
void write_file(const std::string& path, std::string_view data, mode_t mode = 0644);
// write(2) until done, retrying on EINTR.
void write_all(int fd, std::string_view data, const char* what);
// Temp file + rename in the same directory: readers see the old or the new content, never half.
void atomic_write(const std::string& path, std::string_view data, mode_t mode = 0644);

void mkdir_p(const std::string& path, mode_t mode = 0755);
// Removes a directory tree without following symlinks; missing is not an error.
void remove_all(const std::string& path);
bool path_exists(const std::string& path);
// The names in a directory (an fd that may be O_PATH), without . and ..
std::vector<std::string> list_dir(int dirfd, const std::string& path);
// The same by path, sorted; empty when the directory does not exist.
std::vector<std::string> list_dir(const std::string& path);
// Copies what is in from_dir into to_dir: files, directories, symlinks, nodes, with owner and
// mode; never follows a symlink. `path` names from_dir in errors.
void copy_tree(int from_dir, int to_dir, const std::string& path);

std::string path_join(std::string_view a, std::string_view b);
std::string dirname_of(std::string_view path);
std::string basename_of(std::string_view path);
// Lexical cleanup: collapses //, /./ and resolves .. without touching the file system.
std::string clean_path(std::string_view path);

}  // namespace hull
