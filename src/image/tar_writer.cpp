#include "image/tar_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "image/libarchive.h"
#include "util/error.h"

namespace hull::image {
namespace {

struct Entry {
  const Archive& la;
  struct archive_entry* e;
  explicit Entry(const Archive& l) : la(l), e(l.entry_new()) {}
  ~Entry() { la.entry_free(e); }
};

void set_meta(const Archive& la, struct archive_entry* e, const TarWriter::Meta& m) {
  la.entry_set_perm(e, m.mode & 07777);
  la.entry_set_uid(e, m.uid);
  la.entry_set_gid(e, m.gid);
  la.entry_set_mtime(e, m.mtime, 0);
}

}  // namespace

TarWriter::TarWriter(int fd, Compression compression) {
  const Archive& la = libarchive();
  a_ = la.write_new();
  la.write_set_format_pax_restricted(a_);
  if (compression == Compression::gzip) la.write_add_filter_gzip(a_);
  if (compression == Compression::zstd) la.write_add_filter_zstd(a_);
  // No padding to a 10 KiB block: the output is a blob whose digest is taken as written.
  la.write_set_bytes_in_last_block(a_, 1);
  if (la.write_open_fd(a_, fd) != ARCHIVE_OK) fail("write tar: {}", la.error_string(a_));
}

TarWriter::~TarWriter() {
  if (!closed_) libarchive().write_close(a_);
  libarchive().write_free(a_);
}

void TarWriter::close() {
  closed_ = true;
  if (libarchive().write_close(a_) != ARCHIVE_OK)
    fail("write tar: {}", libarchive().error_string(a_));
}

void TarWriter::header(struct archive_entry* e, const std::string& path) {
  const Archive& la = libarchive();
  la.entry_set_pathname(e, path.c_str());
  if (la.write_header(a_, e) != ARCHIVE_OK)
    fail("write tar entry {}: {}", path, la.error_string(a_));
}

void TarWriter::file(const std::string& path, std::string_view data, Meta meta) {
  const Archive& la = libarchive();
  Entry e(la);
  la.entry_set_filetype(e.e, AE_IFREG);
  la.entry_set_size(e.e, static_cast<la_int64_t>(data.size()));
  set_meta(la, e.e, meta);
  header(e.e, path);
  if (!data.empty() && la.write_data(a_, data.data(), data.size()) < 0)
    fail("write tar entry {}: {}", path, la.error_string(a_));
}

void TarWriter::file_from_fd(const std::string& path, int fd, int64_t size, Meta meta) {
  const Archive& la = libarchive();
  Entry e(la);
  la.entry_set_filetype(e.e, AE_IFREG);
  la.entry_set_size(e.e, size);
  set_meta(la, e.e, meta);
  header(e.e, path);
  std::vector<char> buf(1 << 20);
  int64_t left = size;
  while (left > 0) {
    ssize_t n = ::read(fd, buf.data(), std::min<int64_t>(left, buf.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("read {}", path);
    if (n == 0) fail("read {}: shorter than {} bytes", path, size);
    if (la.write_data(a_, buf.data(), n) < 0)
      fail("write tar entry {}: {}", path, la.error_string(a_));
    left -= n;
  }
}

void TarWriter::directory(const std::string& path, Meta meta) {
  const Archive& la = libarchive();
  Entry e(la);
  la.entry_set_filetype(e.e, AE_IFDIR);
  set_meta(la, e.e, meta);
  header(e.e, path);
}

void TarWriter::symlink(const std::string& path, const std::string& target, Meta meta) {
  const Archive& la = libarchive();
  Entry e(la);
  la.entry_set_filetype(e.e, AE_IFLNK);
  la.entry_set_symlink(e.e, target.c_str());
  set_meta(la, e.e, meta);
  header(e.e, path);
}

void TarWriter::hardlink(const std::string& path, const std::string& target) {
  const Archive& la = libarchive();
  Entry e(la);
  la.entry_set_filetype(e.e, AE_IFREG);
  la.entry_set_hardlink(e.e, target.c_str());
  la.entry_set_perm(e.e, 0644);
  header(e.e, path);
}

void TarWriter::node(const std::string& path, mode_t type, unsigned major, unsigned minor,
                     Meta meta) {
  const Archive& la = libarchive();
  Entry e(la);
  la.entry_set_filetype(e.e, S_ISCHR(type) ? AE_IFCHR : S_ISBLK(type) ? AE_IFBLK : AE_IFIFO);
  la.entry_set_rdevmajor(e.e, major);
  la.entry_set_rdevminor(e.e, minor);
  set_meta(la, e.e, meta);
  header(e.e, path);
}

}  // namespace hull::image
