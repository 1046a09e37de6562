// The registry client's pure parts and its files: WWW-Authenticate challenges, --platform,
// login server names, registries.conf, the credential files (docker's and podman's), and the
// store's import that opens its stream only for a missing layer (what makes a pull skip it).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "image/digest.h"
#include "image/store.h"
#include "image/tar_writer.h"
#include "registry/client.h"
#include "registry/config.h"
#include "registry/pull.h"
#include "util/error.h"
#include "util/fs.h"

using namespace hull;
using namespace hull::registry;

namespace {

struct TempHome {
  std::string path;
  TempHome() {
    char t[] = "/tmp/hull-registry-test-XXXXXX";
    path = ::mkdtemp(t);
    ::setenv("HOME", path.c_str(), 1);
    ::setenv("XDG_RUNTIME_DIR", (path + "/xdg").c_str(), 1);
    ::setenv("CONTAINERS_REGISTRIES_CONF", (path + "/registries.conf").c_str(), 1);
    ::unsetenv("DOCKER_CONFIG");
    ::unsetenv("REGISTRY_AUTH_FILE");
  }
  ~TempHome() {
    remove_all(path);
    ::unsetenv("CONTAINERS_REGISTRIES_CONF");
  }
};

}  // namespace

TEST(Registry, ParsesChallenges) {
  Challenge c = parse_challenge(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")");
  EXPECT_EQ(c.scheme, "bearer");
  EXPECT_EQ(c.params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(c.params["service"], "registry.docker.io");
  EXPECT_EQ(c.params["scope"], "repository:library/alpine:pull");
  c = parse_challenge(R"(Basic realm="a \"quoted\" realm", charset=UTF-8)");
  EXPECT_EQ(c.scheme, "basic");
  EXPECT_EQ(c.params["realm"], "a \"quoted\" realm");
  EXPECT_EQ(c.params["charset"], "UTF-8");
  EXPECT_EQ(parse_challenge("Bearer").scheme, "bearer");
}

TEST(Registry, OnlyTheRegistrysOwnUrlsGoDownToPlainHttp) {
  EXPECT_EQ(own_url_as_http("https://reg:5000/v2/a/blobs/uploads/x?_state=1", "reg:5000"),
            "http://reg:5000/v2/a/blobs/uploads/x?_state=1");
  EXPECT_EQ(own_url_as_http("https://reg:5000", "reg:5000"), "http://reg:5000");
  EXPECT_EQ(own_url_as_http("https://reg:5000?x", "reg:5000"), "http://reg:5000?x");
  // Another origin that only starts with the same characters keeps its https.
  EXPECT_EQ(own_url_as_http("https://reg:50001/v2/", "reg:5000"), std::nullopt);
  EXPECT_EQ(own_url_as_http("https://registry.cdn.example/blob", "registry"), std::nullopt);
  EXPECT_EQ(own_url_as_http("https://reg@evil/v2/", "reg"), std::nullopt);
  EXPECT_EQ(own_url_as_http("http://reg/v2/", "reg"), std::nullopt);
}

TEST(Registry, ParsesPlatforms) {
  Platform p = parse_platform("linux/arm64/v8");
  EXPECT_EQ(p.text(), "linux/arm64/v8");
  EXPECT_EQ(parse_platform("").os, "linux");
  EXPECT_THROW(parse_platform("amd64"), Error);
  EXPECT_THROW(parse_platform("linux//v8"), Error);
  EXPECT_THROW(parse_platform("a/b/c/d"), Error);
}

TEST(Registry, LoginServerNames) {
  EXPECT_EQ(login_domain("https://index.docker.io/v1/"), "docker.io");
  EXPECT_EQ(login_domain("localhost:5000/"), "localhost:5000");
  EXPECT_EQ(login_domain("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
  EXPECT_THROW(login_domain("https://"), Error);
  EXPECT_THROW(login_domain("a b"), Error);
}

TEST(Registry, RegistriesConf) {
  TempHome home;
  // No file: the registry itself; loopback over plain HTTP, others HTTPS.
  auto e = pull_endpoints("docker.io");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].host, "registry-1.docker.io");
  EXPECT_FALSE(e[0].http_allowed);
  EXPECT_FALSE(e[0].insecure);
  EXPECT_TRUE(pull_endpoints("127.0.0.1:5000")[0].http_allowed);
  EXPECT_TRUE(pull_endpoints("127.3.4.5")[0].http_allowed);
  EXPECT_TRUE(pull_endpoints("localhost:5000")[0].http_allowed);
  EXPECT_TRUE(pull_endpoints("[::1]:5000")[0].http_allowed);
  EXPECT_FALSE(pull_endpoints("127.example.com")[0].http_allowed);
  EXPECT_FALSE(pull_endpoints("128.0.0.1")[0].http_allowed);
  write_file(home.path + "/registries.conf", R"(
unqualified-search-registries = ["docker.io"]
[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "mirror.example:5000"
insecure = true
[[registry]]
location = "reg.example"
insecure = true
[[registry]]
location = "bad.example"
blocked = true
)");
  e = pull_endpoints("docker.io");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].host, "mirror.example:5000");
  EXPECT_TRUE(e[0].insecure && e[0].http_allowed);
  EXPECT_EQ(e[1].host, "registry-1.docker.io");
  EXPECT_FALSE(e[1].http_allowed);
  EXPECT_FALSE(push_endpoint("docker.io").http_allowed);
  EXPECT_TRUE(push_endpoint("reg.example").http_allowed);
  EXPECT_THROW(pull_endpoints("bad.example"), Error);
  write_file(home.path + "/registries.conf", "[[registry]]\nlocation = \n");
  try {
    pull_endpoints("x");
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("registries.conf: line 2"), std::string::npos)
        << err.what();
  }
}

TEST(Registry, CredentialFiles) {
  TempHome home;
  EXPECT_FALSE(find_credentials("reg.example", "team/app"));
  store_credentials("reg.example", "alice", "pa:ss");
  struct stat st;
  ASSERT_EQ(::stat((home.path + "/.docker/config.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto c = find_credentials("reg.example", "team/app");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "pa:ss");
  // docker.io is docker's URL key.
  store_credentials("docker.io", "bob", "pw");
  EXPECT_NE(read_file(home.path + "/.docker/config.json").find("https://index.docker.io/v1/"),
            std::string::npos);
  EXPECT_EQ(find_credentials("docker.io", "library/alpine")->user, "bob");
  // podman's file comes first, and a namespace key beats the host's.
  mkdir_p(home.path + "/xdg/containers");
  write_file(
      home.path + "/xdg/containers/auth.json",
      R"({"auths":{"reg.example/team":{"auth":"dGVhbTp0"}, "reg.example":{"auth":"aG9zdDpo"}}})");
  EXPECT_EQ(find_credentials("reg.example", "team/app")->user, "team");
  EXPECT_EQ(find_credentials("reg.example", "other/app")->user, "host");
  write_file(home.path + "/xdg/containers/auth.json", R"({"auths":{"reg.example":{"auth":"!!"}}})");
  EXPECT_THROW(find_credentials("reg.example", "x"), Error);
  auto changed = remove_credentials("reg.example");
  EXPECT_EQ(changed.size(), 2u);
  EXPECT_FALSE(find_credentials("reg.example", "x"));
  EXPECT_EQ(find_credentials("docker.io", "library/alpine")->user, "bob");
}

TEST(Registry, ImportOpensTheStreamOnlyForAMissingLayer) {
  TempHome home;
  image::Store store(home.path + "/store");
  std::string tar_path = home.path + "/layer.tar";
  {
    Fd out = open_or_fail(tar_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    image::TarWriter w(out.get());
    w.file("hello", "hi\n");
    w.close();
  }
  std::string data = read_file(tar_path);
  std::string digest = image::sha256_digest(data);
  int opened = 0;
  Fd fd;
  image::Store::LayerSource src;
  src.digest = digest;
  src.diff_id = digest;
  src.open = [&] {
    opened++;
    fd = open_or_fail(tar_path, O_RDONLY | O_CLOEXEC);
    return fd.get();
  };
  auto info = store.import_layer(src);
  EXPECT_EQ(opened, 1);
  EXPECT_EQ(read_file(store.layer_root(info.chain_id) + "/hello"), "hi\n");
  store.import_layer(src);
  EXPECT_EQ(opened, 1);  // present: never opened, so never fetched
}
