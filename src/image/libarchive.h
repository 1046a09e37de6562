// libarchive, loaded on first use (image/dynlib.h says why). Only its declarations are
// included; every call goes through this table.
#pragma once

#include <archive.h>
#include <archive_entry.h>

namespace hull::image {

struct Archive {
  decltype(&archive_read_new) read_new;
  decltype(&archive_read_support_filter_all) read_support_filter_all;
  decltype(&archive_read_support_format_raw) read_support_format_raw;
  decltype(&archive_read_support_format_tar) read_support_format_tar;
  decltype(&archive_read_open) read_open;
  decltype(&archive_read_open_fd) read_open_fd;
  decltype(&archive_read_next_header) read_next_header;
  decltype(&archive_read_data) read_data;
  decltype(&archive_read_data_block) read_data_block;
  decltype(&archive_read_free) read_free;
  decltype(&archive_read_header_position) read_header_position;
  decltype(&archive_filter_code) filter_code;
  decltype(&archive_error_string) error_string;
  decltype(&archive_entry_pathname) entry_pathname;
  decltype(&archive_entry_filetype) entry_filetype;
  decltype(&archive_entry_perm) entry_perm;
  decltype(&archive_entry_uid) entry_uid;
  decltype(&archive_entry_gid) entry_gid;
  decltype(&archive_entry_mtime) entry_mtime;
  decltype(&archive_entry_mtime_nsec) entry_mtime_nsec;
  decltype(&archive_entry_symlink) entry_symlink;
  decltype(&archive_entry_hardlink) entry_hardlink;
  decltype(&archive_entry_rdevmajor) entry_rdevmajor;
  decltype(&archive_entry_rdevminor) entry_rdevminor;
  decltype(&archive_entry_size) entry_size;
  decltype(&archive_entry_xattr_reset) entry_xattr_reset;
  decltype(&archive_entry_xattr_next) entry_xattr_next;
  decltype(&archive_write_new) write_new;
  decltype(&archive_write_set_format_pax_restricted) write_set_format_pax_restricted;
  decltype(&archive_write_add_filter_gzip) write_add_filter_gzip;
  decltype(&archive_write_add_filter_zstd) write_add_filter_zstd;
  decltype(&archive_write_set_bytes_in_last_block) write_set_bytes_in_last_block;
  decltype(&archive_write_open_fd) write_open_fd;
  decltype(&archive_write_header) write_header;
  decltype(&archive_write_data) write_data;
  decltype(&archive_write_close) write_close;
  decltype(&archive_write_free) write_free;
  decltype(&archive_entry_new) entry_new;
  decltype(&archive_entry_free) entry_free;
  decltype(&archive_entry_set_pathname) entry_set_pathname;
  decltype(&archive_entry_set_size) entry_set_size;
  decltype(&archive_entry_set_filetype) entry_set_filetype;
  decltype(&archive_entry_set_perm) entry_set_perm;
  decltype(&archive_entry_set_mtime) entry_set_mtime;
  decltype(&archive_entry_set_uid) entry_set_uid;
  decltype(&archive_entry_set_gid) entry_set_gid;
  decltype(&archive_entry_set_symlink) entry_set_symlink;
  decltype(&archive_entry_set_hardlink) entry_set_hardlink;
  decltype(&archive_entry_set_rdevmajor) entry_set_rdevmajor;
  decltype(&archive_entry_set_rdevminor) entry_set_rdevminor;
  decltype(&archive_entry_xattr_add_entry) entry_xattr_add_entry;
};

// Loads libarchive.so.13 on the first call; throws when it is missing.
const Archive& libarchive();

}  // namespace hull::image
