// The parent/child protocol of `create`: an enum and this diagram. One SOCK_SEQPACKET socketpair;
// each message is one packet: a type byte, an error kind byte (util/error.h ErrorKind, for
// kError), an errno or a pid, and text.
//
//   hull create (parent)                           container init (child)
//   --------------------                           ----------------------
//   socketpair, clone3(CLONE_NEW*) ----------------> (slow path: join user/pid ns by path,
//                                  <-- kChildPid --  fork; the grandchild is the init)
//   write uid_map/gid_map, join cgroups (cgroupfs v1: the init joins them itself, after kGo,
//   through the `tasks` files the parent opened: cgroup/manager.h, SelfJoin)
//   ---------------------------------- kGo -------> (join own v1 cgroups) become root in the
//                                                   userns, join ns by path,
//                                                   cgroup/time ns, hostname, mounts, /dev
//                                  <--- kHooks ----  (only if prestart/createRuntime hooks)
//   run prestart + createRuntime hooks
//   ------------------------------- kHooksDone ---> createContainer hooks, pivot_root, masked
//                                                   paths, sysctl, console, rlimits, user,
//                                                   capabilities, cwd, find the executable
//                                  <--- kReady ----
//   write state.json and --pid-file; exit            wait: kStart on this socket (run), or
//                                                   EOF then accept() on start.sock (start)
//   `start`/`run`: ---------------- kStart -------> startContainer hooks, no_new_privs,
//                                                   seccomp, execve
//                  <-------- EOF (exec'd) or kError
//
// Any step that fails in the child sends kError {kind, errno, "step path"} and exits; the parent
// throws it again as the same Error (error_from), so its caller sees the child's kind (a missing
// executable is ErrorKind::no_command wherever it was found missing). The exec stub writes
// the same packet (linux/exec_stub/abi.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/error.h"

namespace hull::runtime {

enum class Msg : uint8_t {
  kGo = 1,
  kHooks,
  kHooksDone,
  kReady,
  kStart,
  kError,
  kChildPid,
};

struct Message {
  Msg type{};
  int32_t value = 0;                  // errno for kError, pid for kChildPid
  ErrorKind kind = ErrorKind::other;  // for kError
  std::string text;
};

void send_msg(int fd, Msg type, int32_t value = 0, const std::string& text = "",
              ErrorKind kind = ErrorKind::other);
// kError carrying e's errno and kind, and `text` (what the parent will print).
void send_error(int fd, const Error& e, const std::string& text);
// The Error a kError message carries: its text, errno and kind (when the sender gave none,
// the kind its errno means).
Error error_from(const Message& m);
// nullopt on EOF (the peer closed or exec'd).
std::optional<Message> recv_msg(int fd);

}  // namespace hull::runtime
