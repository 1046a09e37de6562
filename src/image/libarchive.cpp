#include "image/libarchive.h"

#include "util/dynlib.h"

namespace hull::image {

const Archive& libarchive() {
  static const Archive api = [] {
    const char* name = "libarchive.so.13";
    void* lib = load_library(name, "libarchive13");
    Archive a;
#define B(field, symbol) bind_symbol(lib, name, field, symbol)
    B(a.read_new, "archive_read_new");
    B(a.read_support_filter_all, "archive_read_support_filter_all");
    B(a.read_support_format_raw, "archive_read_support_format_raw");
    B(a.read_support_format_tar, "archive_read_support_format_tar");
    B(a.read_open, "archive_read_open");
    B(a.read_open_fd, "archive_read_open_fd");
    B(a.read_next_header, "archive_read_next_header");
    B(a.read_data, "archive_read_data");
    B(a.read_data_block, "archive_read_data_block");
    B(a.read_free, "archive_read_free");
    B(a.read_header_position, "archive_read_header_position");
    B(a.filter_code, "archive_filter_code");
    B(a.error_string, "archive_error_string");
    B(a.entry_pathname, "archive_entry_pathname");
    B(a.entry_filetype, "archive_entry_filetype");
    B(a.entry_perm, "archive_entry_perm");
    B(a.entry_uid, "archive_entry_uid");
    B(a.entry_gid, "archive_entry_gid");
    B(a.entry_mtime, "archive_entry_mtime");
    B(a.entry_mtime_nsec, "archive_entry_mtime_nsec");
    B(a.entry_symlink, "archive_entry_symlink");
    B(a.entry_hardlink, "archive_entry_hardlink");
    B(a.entry_rdevmajor, "archive_entry_rdevmajor");
    B(a.entry_rdevminor, "archive_entry_rdevminor");
    B(a.entry_size, "archive_entry_size");
    B(a.entry_xattr_reset, "archive_entry_xattr_reset");
    B(a.entry_xattr_next, "archive_entry_xattr_next");
    B(a.write_new, "archive_write_new");
    B(a.write_set_format_pax_restricted, "archive_write_set_format_pax_restricted");
    B(a.write_add_filter_gzip, "archive_write_add_filter_gzip");
    B(a.write_add_filter_zstd, "archive_write_add_filter_zstd");
    B(a.write_set_bytes_in_last_block, "archive_write_set_bytes_in_last_block");
    B(a.write_open_fd, "archive_write_open_fd");
    B(a.write_header, "archive_write_header");
    B(a.write_data, "archive_write_data");
    B(a.write_close, "archive_write_close");
    B(a.write_free, "archive_write_free");
    B(a.entry_new, "archive_entry_new");
    B(a.entry_free, "archive_entry_free");
    B(a.entry_set_pathname, "archive_entry_set_pathname");
    B(a.entry_set_size, "archive_entry_set_size");
    B(a.entry_set_filetype, "archive_entry_set_filetype");
    B(a.entry_set_perm, "archive_entry_set_perm");
    B(a.entry_set_mtime, "archive_entry_set_mtime");
    B(a.entry_set_uid, "archive_entry_set_uid");
    B(a.entry_set_gid, "archive_entry_set_gid");
    B(a.entry_set_symlink, "archive_entry_set_symlink");
    B(a.entry_set_hardlink, "archive_entry_set_hardlink");
    B(a.entry_set_rdevmajor, "archive_entry_set_rdevmajor");
    B(a.entry_set_rdevminor, "archive_entry_set_rdevminor");
    B(a.entry_xattr_add_entry, "archive_entry_xattr_add_entry");
#undef B
    return a;
  }();
  return api;
}

}  // namespace hull::image
