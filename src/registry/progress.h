// What a pull or push shows while it works, docker's way: on a terminal one line per layer,
// redrawn in place ("Downloading [=====>   ] 1.2MB/3.4MB", "Pull complete", "Already exists");
// otherwise a plain line at each change of a layer's status; quiet: nothing (the caller prints
// the digest). Thread-safe: layers report from their own threads.
#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace hull::registry {

class Progress {
 public:
  enum class Mode { quiet, plain, tty };
  explicit Progress(Mode mode, std::FILE* out = stdout) : mode_(mode), out_(out) {}
  // Plain when `out` is no terminal.
  static Mode mode_for(bool quiet, std::FILE* out = stdout);

  void line(const std::string& text);
  // id: a layer's short digest. bytes/total < 0: no count.
  void layer(const std::string& id, const std::string& status, int64_t bytes = -1,
             int64_t total = -1);

 private:
  struct Row {
    std::string id, status, text;
    int64_t bytes = -1, total = -1;
    int64_t drawn_at_ms = 0;
  };
  std::string render(const Row& r) const;
  Mode mode_;
  std::FILE* out_;
  std::mutex mu_;
  std::vector<Row> rows_;
};

// 1234567 -> "1.23MB" (docker's progress units).
std::string progress_bytes(int64_t bytes);

}  // namespace hull::registry
