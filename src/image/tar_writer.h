// Writes a tar (plain, gzip or zstd) to an fd with libarchive: `hull save` and the tests'
// layers. Entries are given by value; nothing is read from the file system here.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

struct archive;
struct archive_entry;

namespace hull::image {

enum class Compression { none, gzip, zstd };

struct TarMeta {
  mode_t mode = 0644;
  uid_t uid = 0;
  gid_t gid = 0;
  time_t mtime = 0;
};

class TarWriter {
 public:
  TarWriter(int fd, Compression compression = Compression::none);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  using Meta = TarMeta;
  void file(const std::string& path, std::string_view data, Meta meta = {});
  // A file whose content is read from an fd of `size` bytes (streamed, not held in memory).
  void file_from_fd(const std::string& path, int fd, int64_t size, Meta meta = {});
  void directory(const std::string& path, Meta meta = {0755});
  void symlink(const std::string& path, const std::string& target, Meta meta = {0777});
  void hardlink(const std::string& path, const std::string& target);
  void node(const std::string& path, mode_t type, unsigned major, unsigned minor,
            Meta meta = {0600});
  // Writes the end of the archive; the destructor does it too, without reporting errors.
  void close();

 private:
  void header(struct archive_entry* e, const std::string& path);
  struct archive* a_;
  bool closed_ = false;
};

}  // namespace hull::image
