#include <gtest/gtest.h>

#include "oci/parse.h"
#include "util/error.h"

using hull::Error;
using hull::oci::parse_spec;

TEST(Parse, Minimal) {
  auto s = parse_spec(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"},
    "linux":{"namespaces":[{"type":"mount"}]}})");
  EXPECT_EQ(s.root.path, "rootfs");
}
