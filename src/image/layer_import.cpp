// Store::import_layer: one pass over the stream does everything. The bytes read from the fd
// are hashed (the blob's digest) and teed into the blob file; libarchive's raw reader
// decompresses them (gzip, zstd or none, detected from the data); what it yields is hashed
// (the diff_id) and fed to a second libarchive reader, the tar one, whose entries are unpacked.
//
//   fd --read--> [sha256 digest, tee blob] --> archive A (filters, raw format)
//      --data--> [sha256 diff_id] --> archive B (tar) --entries--> unpack_tar --> tmp/layer-X/root
//
// Both readers pull through callbacks, so no thread and no buffer of the whole layer. An
// uncompressed stream is hashed once (its diff_id is its digest), and a stream that is a file
// of hull's own (`hull load` unpacked the archive under tmp/) becomes the blob by a hard link
// after verification instead of being teed into a copy.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <exception>
#include <nlohmann/json.hpp>
#include <vector>

#include "image/digest.h"
#include "image/libarchive.h"
#include "image/store.h"
#include "image/unpack.h"
#include "util/error.h"
#include "util/fs.h"

namespace hull::image {
namespace {

struct Compressed {
  int fd;
  int tee = -1;
  Sha256 hash;
  int64_t bytes = 0;
  std::vector<char> buf = std::vector<char>(1 << 20);
  std::exception_ptr error;

  // Next chunk of the stream, hashed and teed; 0 at its end.
  ssize_t next() {
    ssize_t n;
    do n = ::read(fd, buf.data(), buf.size());
    while (n < 0 && errno == EINTR);
    if (n < 0) fail_errno("read the layer stream");
    hash.update(buf.data(), n);
    if (tee >= 0 && n > 0) write_all(tee, std::string_view(buf.data(), n), "the layer blob");
    bytes += n;
    return n;
  }
  static la_ssize_t callback(struct archive*, void* self, const void** out) {
    auto* c = static_cast<Compressed*>(self);
    try {
      ssize_t n = c->next();
      *out = c->buf.data();
      return n;
    } catch (...) {
      c->error = std::current_exception();
      return -1;
    }
  }
};

struct Uncompressed {
  struct archive* outer;
  bool hashed = true;  // false: not compressed, so the diff_id is the digest
  Sha256 hash;
  int64_t bytes = 0;
  std::exception_ptr error;

  static la_ssize_t callback(struct archive*, void* self, const void** out) {
    auto* u = static_cast<Uncompressed*>(self);
    const Archive& la = libarchive();
    size_t size = 0;
    la_int64_t offset = 0;
    int r = la.read_data_block(u->outer, out, &size, &offset);
    if (r == ARCHIVE_EOF) return 0;
    if (r < ARCHIVE_WARN) {
      const char* s = la.error_string(u->outer);
      u->error = std::make_exception_ptr(
          Error(fmt::format("decompress the layer: {}", s ? s : "unknown error")));
      return -1;
    }
    if (u->hashed) u->hash.update(*out, size);
    u->bytes += size;
    return static_cast<la_ssize_t>(size);
  }
};

struct ArchiveFree {
  void operator()(struct archive* a) const { libarchive().read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveFree>;

// The first error that happened in a callback explains a libarchive failure best.
[[noreturn]] void rethrow_first(const Compressed& c, const Uncompressed& u, const Error& e) {
  if (c.error) std::rethrow_exception(c.error);
  if (u.error) std::rethrow_exception(u.error);
  throw e;
}

struct Streamed {
  std::string digest, diff_id;
  int64_t size = 0;
  UnpackStats stats;
};

// Runs the pipeline; root_fd: where the entries go (-1: hash only, for a layer already here).
Streamed stream_layer(int fd, int tee, int root_fd) {
  const Archive& la = libarchive();
  Compressed c{fd, tee};
  ArchivePtr outer(la.read_new());
  la.read_support_filter_all(outer.get());
  la.read_support_format_raw(outer.get());
  Uncompressed u{outer.get()};
  ArchivePtr inner(la.read_new());
  la.read_support_format_tar(inner.get());
  Streamed s;
  try {
    if (la.read_open(outer.get(), &c, nullptr, Compressed::callback, nullptr) != ARCHIVE_OK)
      fail("read the layer: {}", la.error_string(outer.get()));
    struct archive_entry* entry;
    if (la.read_next_header(outer.get(), &entry) != ARCHIVE_OK)
      fail("read the layer: {}", la.error_string(outer.get()));
    // A plain tar: the raw reader yields the stream's own bytes, so one sha256 is enough.
    u.hashed = la.filter_code(outer.get(), 0) != ARCHIVE_FILTER_NONE;
    if (root_fd >= 0) {
      if (la.read_open(inner.get(), &u, nullptr, Uncompressed::callback, nullptr) != ARCHIVE_OK)
        fail("read the layer's tar: {}", la.error_string(inner.get()));
      s.stats = unpack_tar(inner.get(), root_fd);
    }
    // What the tar reader left (end-of-archive padding) and what the decompressor left
    // (trailing bytes) still count in the digests.
    const void* out;
    while (Uncompressed::callback(nullptr, &u, &out) > 0) {
    }
    if (u.error) std::rethrow_exception(u.error);
    while (c.next() > 0) {
    }
  } catch (const Error& e) {
    rethrow_first(c, u, e);
  }
  s.digest = c.hash.digest();
  s.diff_id = u.hashed ? u.hash.digest() : s.digest;
  s.size = c.bytes;
  return s;
}

// Marks the store's tmp/ as the top of directory hierarchies (FS_TOPDIR_FL, as /home is), so
// ext4's Orlov allocator starts each layer directory made in it in a block group of its own
// with free inodes, instead of in tmp/'s group. Without it every file of a layer is allocated
// in that one group, and on an ext4 without a journal each allocation first skips, one by one,
// every inode of the group deleted in the last 30 seconds (find_inode_bit's recently_deleted
// check): a load right after an rmi + prune, or beside anything else deleting trees there, took
// 4-9 s of system time for a 170 MB Debian layer instead of 0.4 s (bench/README.md). Only a
// hint: other file systems ignore or refuse the flag, and nothing depends on it.
void spread_layer_dirs(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  int flags = 0;
  if (!fd || ::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) < 0 || (flags & FS_TOPDIR_FL)) return;
  flags |= FS_TOPDIR_FL;
  (void)::ioctl(fd.get(), FS_IOC_SETFLAGS, &flags);
}

// The blob of a layer whose stream was a file of ours (LayerSource::fd_is_ours): that file,
// linked as `to` (a name under the layer's tmp dir), or copied when it cannot be linked.
void keep_file_as_blob(int fd, const std::string& to) {
  // Owner, mode and mtime as a blob written here would have (not the archive entry's).
  if (::fchown(fd, ::geteuid(), ::getegid()) < 0 || ::fchmod(fd, 0444) < 0 ||
      ::futimens(fd, nullptr) < 0)
    fail_errno("chmod the layer blob");
  std::string self = fmt::format("/proc/self/fd/{}", fd);
  if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, to.c_str(), AT_SYMLINK_FOLLOW) == 0) return;
  Fd out = open_or_fail(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  std::vector<char> buf(1 << 20);
  for (off_t off = 0;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("read the layer blob");
    if (n == 0) break;
    write_all(out.get(), std::string_view(buf.data(), n), "the layer blob");
    off += n;
  }
}

void check_match(std::string_view what, std::string_view expected, const std::string& got) {
  if (!expected.empty() && expected != got)
    fail("layer {} mismatch: expected {}, got {}", what, expected, got);
}

}  // namespace

LayerInfo Store::import_layer(const LayerSource& src) {
  if (!src.digest.empty()) check_digest(src.digest, "layer digest");
  if (!src.diff_id.empty()) check_digest(src.diff_id, "layer diff_id");
  if (!src.parent_chain.empty()) check_digest(src.parent_chain, "parent chain id");
  Fd writer = writer_lock();
  auto lock_layer = [&](const std::string& chain) {
    return lock_file("layer-" + digest_hex(chain), LOCK_EX);
  };
  // Known diff_id: lock before unpacking, so two loads of one layer unpack it once.
  std::string chain = src.diff_id.empty() ? "" : chain_id(src.parent_chain, src.diff_id);
  Fd lock;
  if (!chain.empty()) {
    lock = lock_layer(chain);
    if (has_layer(chain)) {
      if (src.fd < 0) return *layer(chain);  // not opened: nothing to verify or keep
      // Read through to verify the stream (and keep its blob if asked and missing).
      bool tee = src.keep_blob && !src.digest.empty() && !has_blob(src.digest);
      if (tee) {
        put_blob(src.fd, src.digest);
      } else {
        Streamed s = stream_layer(src.fd, -1, -1);
        check_match("digest", src.digest, s.digest);
        check_match("diff_id", src.diff_id, s.diff_id);
      }
      return *layer(chain);
    }
  }

  spread_layer_dirs(tmp_dir());
  std::string tmp = tmp_dir() + "/layer-XXXXXX";
  if (!::mkdtemp(tmp.data())) fail_errno("create {}", tmp);
  ScopeGuard remove_tmp([&] { remove_all(tmp); });
  if (::chmod(tmp.c_str(), 0755) < 0) fail_errno("chmod {}", tmp);
  mkdir_p(tmp + "/root", 0755);
  Fd root = open_or_fail(tmp + "/root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  Fd blob;
  struct stat st;
  bool link_blob = src.keep_blob && src.fd_is_ours && src.fd >= 0 && ::fstat(src.fd, &st) == 0 &&
                   S_ISREG(st.st_mode);
  if (src.keep_blob && !link_blob)
    blob = open_or_fail(tmp + "/blob", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (src.fd < 0 && (!src.open || chain.empty())) fail("import layer: no stream");
  int fd = src.fd >= 0 ? src.fd : src.open();
  Streamed s = stream_layer(fd, blob.get(), root.get());
  check_match("digest", src.digest, s.digest);
  check_match("diff_id", src.diff_id, s.diff_id);
  if (link_blob) {
    keep_file_as_blob(fd, tmp + "/blob");
    blob = open_or_fail(tmp + "/blob", O_RDONLY | O_CLOEXEC);  // published below, as a tee'd one
  }

  if (chain.empty()) {
    chain = chain_id(src.parent_chain, s.diff_id);
    lock = lock_layer(chain);
    if (has_layer(chain)) return *layer(chain);  // someone else's copy won
  }
  LayerInfo info;
  info.chain_id = chain;
  info.diff_id = s.diff_id;
  info.digest = s.digest;
  info.media_type = src.media_type;
  info.size = s.size;
  info.unpacked_size = s.stats.bytes;
  nlohmann::json j = {{"chain_id", info.chain_id}, {"diff_id", info.diff_id},
                      {"digest", info.digest},     {"media_type", info.media_type},
                      {"size", info.size},         {"unpacked_size", info.unpacked_size}};
  write_file(tmp + "/layer.json", j.dump(2) + "\n", 0600);
  if (blob) {
    blob.reset();
    Fd blob_lock = lock_file("blob-" + digest_hex(s.digest), LOCK_EX);
    if (!has_blob(s.digest) && ::rename((tmp + "/blob").c_str(), blob_path(s.digest).c_str()) < 0)
      fail_errno("publish blob {}", s.digest);
    ::unlink((tmp + "/blob").c_str());
  }
  // The commit point: layers/HEX appears whole or not at all.
  if (::rename(tmp.c_str(), (root_ + "/layers/" + digest_hex(chain)).c_str()) < 0)
    fail_errno("publish layer {}", chain);
  remove_tmp.dismiss();
  return info;
}

}  // namespace hull::image
