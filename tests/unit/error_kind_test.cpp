// Errors with a kind (util/error.h): the kind errno means, kinds named where an error starts,
// kinds that survive context, the runtime's sync socket and the exec stub's packet, and the
// OCI state table's refusals (runtime/transitions.h).
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "linux/exec_stub/abi.h"
#include "net/nftables.h"
#include "oci/parse.h"
#include "runtime/sync.h"
#include "runtime/transitions.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/id_range.h"

using namespace hull;

namespace {

template <typename F>
Error caught(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error thrown";
  return Error("none");
}

struct Pair {
  Fd a, b;
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    a.reset(sv[0]);
    b.reset(sv[1]);
  }
};

}  // namespace

TEST(ErrorKind, FromErrno) {
  EXPECT_EQ(kind_of_errno(ENOENT), ErrorKind::not_found);
  EXPECT_EQ(kind_of_errno(EEXIST), ErrorKind::already_exists);
  EXPECT_EQ(kind_of_errno(EACCES), ErrorKind::permission);
  EXPECT_EQ(kind_of_errno(EPERM), ErrorKind::permission);
  EXPECT_EQ(kind_of_errno(EBUSY), ErrorKind::busy);
  EXPECT_EQ(kind_of_errno(ENOEXEC), ErrorKind::not_executable);
  EXPECT_EQ(kind_of_errno(EINVAL), ErrorKind::other);
  EXPECT_EQ(kind_of_errno(0), ErrorKind::other);
}

TEST(ErrorKind, FailErrnoDerivesItAndContextKeepsIt) {
  Error e = caught([] {
    with_context("create web", [] {
      errno = EEXIST;
      fail_errno("mkdir {}", "/run/hull/web");
    });
  });
  EXPECT_EQ(e.kind(), ErrorKind::already_exists);
  EXPECT_EQ(e.err(), EEXIST);
  EXPECT_STREQ(e.what(), "create web: mkdir /run/hull/web: file exists");
}

TEST(ErrorKind, NamedWhereItStarts) {
  Error e = caught([] { fail_as(ErrorKind::invalid_state, "container {} is paused", "web"); });
  EXPECT_EQ(e.kind(), ErrorKind::invalid_state);
  EXPECT_EQ(e.err(), 0);
  // A named kind wins over errno's.
  Error busy(ErrorKind::invalid_config, "x", EBUSY);
  EXPECT_EQ(busy.kind(), ErrorKind::invalid_config);
  // with_kind gives a kind only to errors that have none.
  Error re = caught([] { with_kind(ErrorKind::invalid_config, [] { fail("bad"); }); });
  EXPECT_EQ(re.kind(), ErrorKind::invalid_config);
  Error kept =
      caught([] { with_kind(ErrorKind::invalid_config, [] { fail_err(ENOENT, "open"); }); });
  EXPECT_EQ(kept.kind(), ErrorKind::not_found);
}

TEST(ErrorKind, ConfigErrorsAreInvalidConfig) {
  EXPECT_EQ(caught([] { oci::parse_spec("{"); }).kind(), ErrorKind::invalid_config);
  EXPECT_EQ(
      caught([] { oci::parse_spec(R"({"ociVersion":"1.0.2","process":{"args":7}})"); }).kind(),
      ErrorKind::invalid_config);
  EXPECT_EQ(caught([] { oci::parse_resources(R"({"memory":{"limit":"x"}})"); }).kind(),
            ErrorKind::invalid_config);
}

TEST(ErrorKind, CrossesTheSyncSocket) {
  Pair p;
  runtime::send_error(p.a.get(), Error(ErrorKind::no_command, "exec: sh: not found", ENOENT),
                      "process.args[0]: exec sh");
  auto m = runtime::recv_msg(p.b.get());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, runtime::Msg::kError);
  Error e = runtime::error_from(*m);
  EXPECT_EQ(e.kind(), ErrorKind::no_command);
  EXPECT_EQ(e.err(), ENOENT);
  EXPECT_EQ(e.message(), "process.args[0]: exec sh");
  // A sender that names no kind: the errno decides, as for a local error.
  runtime::send_msg(p.a.get(), runtime::Msg::kError, EBUSY, "mount");
  EXPECT_EQ(runtime::error_from(*runtime::recv_msg(p.b.get())).kind(), ErrorKind::busy);
  // A kind this hull does not know is no kind.
  EXPECT_EQ(kind_from_wire(200), ErrorKind::other);
}

TEST(ErrorKind, TheExecStubsPacket) {
  // The stub (linux/exec_stub/stub.c) writes this layout by hand: type, kind, pad, errno, text.
  Pair p;
  char buf[64] = {HULL_STUB_MSG_ERROR, HULL_STUB_KIND_NOT_EXECUTABLE, 0, 0};
  int err = ENOEXEC;
  std::memcpy(buf + 4, &err, 4);
  std::memcpy(buf + 8, "exec /x", 7);
  ASSERT_EQ(::send(p.a.get(), buf, 15, 0), 15);
  Error e = runtime::error_from(*runtime::recv_msg(p.b.get()));
  EXPECT_EQ(e.kind(), ErrorKind::not_executable);
  EXPECT_STREQ(e.what(), "exec /x: exec format error");
}

TEST(ErrorKind, FromLibnftablesText) {
  // nft's first error line, as Nftables::run gets it (lower-cased first letter).
  EXPECT_EQ(net::nft_error_kind("could not process rule: File exists"), ErrorKind::already_exists);
  EXPECT_EQ(net::nft_error_kind("could not process rule: No such file or directory"),
            ErrorKind::not_found);
  EXPECT_EQ(net::nft_error_kind("could not process rule: Operation not permitted"),
            ErrorKind::permission);
  EXPECT_EQ(net::nft_error_kind("syntax error, unexpected string"), ErrorKind::other);
  EXPECT_EQ(net::nft_error_kind(""), ErrorKind::other);
}

TEST(StateTable, VerbsByStatus) {
  using runtime::allowed;
  using runtime::Verb;
  using S = oci::Status;
  EXPECT_TRUE(allowed(Verb::start, S::created));
  for (S s : {S::creating, S::running, S::paused, S::stopped})
    EXPECT_FALSE(allowed(Verb::start, s));
  EXPECT_FALSE(allowed(Verb::kill, S::stopped));
  EXPECT_TRUE(allowed(Verb::kill_all, S::stopped));
  EXPECT_FALSE(allowed(Verb::remove, S::running));
  EXPECT_TRUE(allowed(Verb::remove_force, S::running));
  EXPECT_TRUE(allowed(Verb::pause, S::running));
  EXPECT_FALSE(allowed(Verb::pause, S::paused));
  EXPECT_TRUE(allowed(Verb::resume, S::paused));
  EXPECT_FALSE(allowed(Verb::exec, S::paused));
  EXPECT_TRUE(allowed(Verb::exec_ignore_paused, S::paused));
  EXPECT_FALSE(allowed(Verb::update, S::stopped));
}

TEST(StateTable, RefusalsInRuncsWords) {
  oci::State s;
  s.id = "web";
  auto refusal = [&](runtime::Verb v, oci::Status st) {
    s.status = st;
    return caught([&] { runtime::require(v, s); });
  };
  Error e = refusal(runtime::Verb::kill, oci::Status::stopped);
  EXPECT_EQ(e.kind(), ErrorKind::invalid_state);
  EXPECT_NE(std::string(e.what()).find("container not running"), std::string::npos) << e.what();
  EXPECT_STREQ(refusal(runtime::Verb::start, oci::Status::running).what(),
               "cannot start container web: it is running, not created");
  EXPECT_STREQ(refusal(runtime::Verb::update, oci::Status::creating).what(),
               "container web is still being created");
  EXPECT_STREQ(refusal(runtime::Verb::remove, oci::Status::paused).what(),
               "cannot delete container web that is not stopped: paused");
  EXPECT_STREQ(refusal(runtime::Verb::update, oci::Status::stopped).what(),
               "container web has exited: container not running");
}

TEST(IdRange, SubordinateRange) {
  const char* text = "alice:100000:65536\n 1000:300000:1000 \nroot:200000:65536\n";
  auto a = subordinate_range(text, "alice", 1001);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->outside, 100000u);
  EXPECT_EQ(a->count, 65536u);
  auto by_uid = subordinate_range(text, "bob", 1000);  // by number, as newuidmap
  ASSERT_TRUE(by_uid);
  EXPECT_EQ(by_uid->outside, 300000u);
  EXPECT_FALSE(subordinate_range(text, "carol", 1002));
  EXPECT_FALSE(subordinate_range("dave:4294967000:65536\n", "dave", 7));  // past 32 bits
  EXPECT_FALSE(subordinate_range("erin:1:0\n", "erin", 8));
  EXPECT_FALSE(subordinate_range_in("/nonexistent/subuid", "root", 0));
}
