// The image store on a temp dir: digests, references, blobs, layer import (formats, whiteouts,
// metadata, hostile archives, digest checks) and image records. Run as root (make test).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>

#include "image/digest.h"
#include "image/reference.h"
#include "image/store.h"
#include "image/tar_writer.h"
#include "util/error.h"
#include "util/fs.h"

using namespace hull;
using namespace hull::image;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/hull-image-test-XXXXXX";
    path = ::mkdtemp(t);
  }
  ~TempDir() { remove_all(path); }
};

// A tar built by `fill`, as a file; returns its path.
std::string make_tar(const std::string& dir, const std::string& name, Compression c,
                     const std::function<void(TarWriter&)>& fill) {
  std::string path = dir + "/" + name;
  Fd fd = open_or_fail(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  TarWriter w(fd.get(), c);
  fill(w);
  w.close();
  return path;
}

std::string file_digest(const std::string& path) {
  return sha256_digest(read_file(path));
}

LayerInfo import_file(Store& s, const std::string& path, std::string digest = {},
                      std::string diff_id = {}, std::string parent = {}) {
  Fd fd = open_or_fail(path, O_RDONLY | O_CLOEXEC);
  return s.import_layer(
      {fd.get(), digest, diff_id, parent, "application/vnd.oci.image.layer.v1.tar"});
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool tmp_empty(const Store& s) {
  return list_dir(s.root() + "/tmp").empty();
}

}  // namespace

TEST(ImageDigest, Sha256AndChainId) {
  EXPECT_EQ(sha256_digest(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_TRUE(valid_digest(sha256_digest("x")));
  EXPECT_FALSE(valid_digest("sha256:../../etc"));
  EXPECT_FALSE(valid_digest("md5:abc"));
  std::string a = sha256_digest("a"), b = sha256_digest("b");
  EXPECT_EQ(chain_id("", a), a);
  EXPECT_EQ(chain_id(a, b), sha256_digest(a + " " + b));
}

TEST(ImageReference, NormalisesAsDocker) {
  EXPECT_EQ(parse_reference("alpine").full(), "docker.io/library/alpine:latest");
  EXPECT_EQ(parse_reference("user/app:v1").full(), "docker.io/user/app:v1");
  EXPECT_EQ(parse_reference("localhost:5000/a/b").full(), "localhost:5000/a/b:latest");
  EXPECT_EQ(parse_reference("quay.io/x/y:1.0").familiar_name(), "quay.io/x/y");
  EXPECT_EQ(familiar("docker.io/library/busybox:latest"), "busybox:latest");
  std::string d = sha256_digest("m");
  EXPECT_EQ(parse_reference("alpine@" + d).digest, d);
  EXPECT_THROW(parse_reference("Alpine"), Error);
  EXPECT_THROW(parse_reference("a:b:c"), Error);
  EXPECT_THROW(parse_reference(""), Error);
}

TEST(ImageStore, BlobFromPipeIsVerified) {
  TempDir t;
  Store s(t.path + "/images");
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  write_all(p[1], "hello", "pipe");
  ::close(p[1]);
  Fd r(p[0]);
  std::string d = s.put_blob(r.get(), sha256_digest("hello"));
  EXPECT_EQ(s.read_blob(d), "hello");
  ASSERT_EQ(::pipe(p), 0);
  write_all(p[1], "evil", "pipe");
  ::close(p[1]);
  Fd r2(p[0]);
  std::string want = sha256_digest("good");
  std::string err = error_of([&] { s.put_blob(r2.get(), want); });
  EXPECT_NE(err.find(want), std::string::npos) << err;
  EXPECT_NE(err.find(sha256_digest("evil")), std::string::npos) << err;
  EXPECT_FALSE(s.has_blob(sha256_digest("evil")));
  EXPECT_TRUE(tmp_empty(s));
}

TEST(ImageStore, LayerKeepsMetadataAndTurnsWhiteoutsIntoOverlays) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (owners, device nodes, trusted xattrs)";
  TempDir t;
  Store s(t.path + "/images");
  std::string tar = make_tar(t.path, "l.tar", Compression::gzip, [](TarWriter& w) {
    w.directory("etc/", {0755, 0, 0, 1000});
    w.file("etc/passwd", "root:x:0:0::/root:/bin/sh\n", {0644, 0, 0, 1234});
    w.file("bin/su", "#!", {04755, 0, 0, 5});  // parent dir not in the archive
    w.file("home/u/f", "x", {0600, 1000, 1001, 5});
    w.symlink("bin/sh", "/bin/busybox");
    w.hardlink("bin/su2", "bin/su");
    w.node("dev/null", S_IFCHR, 1, 3, {0666});
    w.file(".wh.gone", "");
    w.file("var/.wh..wh..opq", "");
  });
  LayerInfo l = import_file(s, tar, file_digest(tar));
  EXPECT_EQ(l.digest, file_digest(tar));
  EXPECT_EQ(l.chain_id, l.diff_id);
  ASSERT_TRUE(s.has_layer(l.chain_id));
  EXPECT_TRUE(s.has_blob(l.digest));
  std::string root = s.layer_root(l.chain_id);
  struct stat st;
  ASSERT_EQ(::stat((root + "/bin/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(st.st_mtime, 5);
  EXPECT_EQ(st.st_nlink, 2u);
  ASSERT_EQ(::stat((root + "/home/u/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  ASSERT_EQ(::stat((root + "/etc").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, 1000);  // set after its entries
  char target[64] = {};
  ASSERT_GT(::readlink((root + "/bin/sh").c_str(), target, sizeof target), 0);
  EXPECT_STREQ(target, "/bin/busybox");
  ASSERT_EQ(::stat((root + "/dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, ::makedev(1, 3));
  ASSERT_EQ(::lstat((root + "/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, ::makedev(0, 0));
  char v[4] = {};
  EXPECT_EQ(::getxattr((root + "/var").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_FALSE(path_exists(root + "/var/.wh..wh..opq"));
  EXPECT_TRUE(tmp_empty(s));
}

TEST(ImageStore, ZstdAndPlainLayersVerifyBothDigests) {
  TempDir t;
  Store s(t.path + "/images");
  auto fill = [](TarWriter& w) { w.file("a", "same content"); };
  std::string plain = make_tar(t.path, "p.tar", Compression::none, fill);
  std::string zst = make_tar(t.path, "z.tar.zst", Compression::zstd, fill);
  std::string diff = file_digest(plain);
  LayerInfo lz = import_file(s, zst, file_digest(zst), diff);
  EXPECT_EQ(lz.diff_id, diff);
  EXPECT_EQ(read_file(s.layer_root(lz.chain_id) + "/a"), "same content");
  // The same diff_id again: found, not unpacked again, the stream still verified.
  LayerInfo lp = import_file(s, plain, diff, diff);
  EXPECT_EQ(lp.chain_id, lz.chain_id);
  // A wrong diff_id (parent given, so another chain): refused, both named, nothing kept.
  std::string wrong = sha256_digest("not it");
  std::string err = error_of([&] { import_file(s, zst, "", wrong, diff); });
  EXPECT_NE(err.find(wrong), std::string::npos) << err;
  EXPECT_NE(err.find(diff), std::string::npos) << err;
  EXPECT_FALSE(s.has_layer(chain_id(diff, wrong)));
  EXPECT_FALSE(s.has_layer(chain_id(diff, diff)));
  EXPECT_TRUE(tmp_empty(s));
  // A wrong blob digest.
  err = error_of([&] { import_file(s, zst, wrong, "", diff); });
  EXPECT_NE(err.find("digest mismatch"), std::string::npos) << err;
  EXPECT_TRUE(tmp_empty(s));
}

TEST(ImageStore, CorruptStreamNamesWhatFailed) {
  TempDir t;
  Store s(t.path + "/images");
  std::string gz = make_tar(t.path, "l.tgz", Compression::gzip,
                            [](TarWriter& w) { w.file("big", std::string(1 << 20, 'x')); });
  std::string data = read_file(gz);
  write_file(gz, data.substr(0, data.size() / 2));
  std::string err = error_of([&] { import_file(s, gz); });
  EXPECT_FALSE(err.empty());
  EXPECT_TRUE(tmp_empty(s));
  EXPECT_TRUE(list_dir(s.root() + "/layers").empty());
}

// The classic archive traversals: each refused naming the entry, nothing written outside.
TEST(ImageStore, HostileArchivesAreRefused) {
  TempDir t;
  Store s(t.path + "/images");
  mkdir_p(t.path + "/outside");
  std::string outside = t.path + "/outside";
  struct Case {
    const char* name;
    std::function<void(TarWriter&)> fill;
    const char* entry;
  };
  std::vector<Case> cases = {
      {"dotdot", [](TarWriter& w) { w.file("../../../outside/pwned", "x"); },
       "../../../outside/pwned"},
      {"abs-symlink",
       [&](TarWriter& w) {
         w.symlink("escape", outside);
         w.file("escape/pwned", "x");
       },
       "escape/pwned"},
      {"rel-symlink",
       [](TarWriter& w) {
         w.symlink("up", "../../../../../../../..");
         w.file("up/tmp/pwned", "x");
       },
       "up/tmp/pwned"},
      {"hardlink-out", [](TarWriter& w) { w.hardlink("shadow", "../../../../../etc/shadow"); },
       "shadow"},
      {"hardlink-abs", [](TarWriter& w) { w.hardlink("shadow", "/etc/shadow"); }, "shadow"},
      {"hardlink-via-symlink",
       [](TarWriter& w) {
         w.symlink("etc", "/etc");
         w.hardlink("shadow", "etc/shadow");
       },
       "shadow"},
  };
  for (const auto& c : cases) {
    std::string tar = make_tar(t.path, std::string(c.name) + ".tar", Compression::none, c.fill);
    std::string err = error_of([&] { import_file(s, tar); });
    EXPECT_NE(err.find(std::string("\"") + c.entry + "\""), std::string::npos)
        << c.name << ": " << err;
    EXPECT_TRUE(list_dir(outside).empty()) << c.name;
    EXPECT_TRUE(list_dir(s.root() + "/layers").empty()) << c.name;
    EXPECT_TRUE(tmp_empty(s)) << c.name;
  }
  EXPECT_FALSE(path_exists("/tmp/pwned"));
}

TEST(ImageStore, ConcurrentImportsOfOneLayerUnpackOnce) {
  TempDir t;
  Store s(t.path + "/images");
  std::string tar = make_tar(t.path, "l.tar", Compression::gzip, [](TarWriter& w) {
    for (int i = 0; i < 200; i++) w.file("f" + std::to_string(i), std::string(4096, 'a' + i % 26));
  });
  std::string plain = make_tar(t.path, "p.tar", Compression::none, [](TarWriter& w) {
    for (int i = 0; i < 200; i++) w.file("f" + std::to_string(i), std::string(4096, 'a' + i % 26));
  });
  std::string diff = file_digest(plain);
  std::vector<pid_t> kids;
  for (int i = 0; i < 2; i++) {
    pid_t pid = ::fork();
    if (pid == 0) {
      try {
        Store mine(t.path + "/images");
        import_file(mine, tar, file_digest(tar), diff);
        ::_exit(0);
      } catch (...) {
        ::_exit(1);
      }
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int status;
    ASSERT_EQ(::waitpid(k, &status, 0), k);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(list_dir(s.root() + "/layers").size(), 1u);
  EXPECT_TRUE(tmp_empty(s));
}

TEST(ImageStore, RecordsFindTagsAndPrunes) {
  TempDir t;
  Store s(t.path + "/images");
  std::string tar =
      make_tar(t.path, "l.tar", Compression::none, [](TarWriter& w) { w.file("hello", "hi"); });
  LayerInfo l = import_file(s, tar);
  std::string config =
      s.put_blob_data(R"({"rootfs":{"type":"layers","diff_ids":[")" + l.diff_id + R"("]}})");
  std::string manifest = s.put_blob_data(R"({"schemaVersion":2,"config":")" + config + "\"}");
  ImageRecord r{manifest, config, "2026-01-01T00:00:00Z", {l}, {}};
  s.record_image(r, {"docker.io/library/hello:latest"});
  ASSERT_TRUE(s.find("hello"));
  EXPECT_EQ(s.find("hello:latest")->manifest_digest, manifest);
  EXPECT_EQ(s.find(config.substr(7, 12))->manifest_digest, manifest);
  EXPECT_EQ(s.find(manifest)->config_digest, config);
  EXPECT_FALSE(s.find("other"));
  s.tag(manifest, "localhost:5000/hello:v2");
  EXPECT_EQ(s.find("localhost:5000/hello:v2")->names.size(), 2u);
  EXPECT_TRUE(s.untag("localhost:5000/hello:v2"));
  EXPECT_FALSE(s.untag("localhost:5000/hello:v2"));
  // An orphan layer and leftovers of a killed writer go; what the image names stays.
  std::string orphan =
      make_tar(t.path, "o.tar", Compression::none, [](TarWriter& w) { w.file("orphan", "o"); });
  LayerInfo lo = import_file(s, orphan);
  mkdir_p(s.root() + "/tmp/layer-killed/root");
  auto pr = s.prune({});
  EXPECT_EQ(pr.layers, 1);
  EXPECT_EQ(pr.temporaries, 1);
  EXPECT_FALSE(s.has_layer(lo.chain_id));
  EXPECT_TRUE(s.has_layer(l.chain_id));
  EXPECT_TRUE(tmp_empty(s));
  // A container's layer stays even without its image.
  s.remove_image(manifest);
  EXPECT_FALSE(s.find("hello"));
  pr = s.prune({l.chain_id});
  EXPECT_TRUE(s.has_layer(l.chain_id));
  pr = s.prune({});
  EXPECT_FALSE(s.has_layer(l.chain_id));
  EXPECT_TRUE(list_dir(s.root() + "/blobs/sha256").empty());
}
