#include "registry/progress.h"

#include <unistd.h>

#include <fmt/format.h>
#include <chrono>

namespace hull::registry {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string progress_bytes(int64_t b) {
  if (b < 1000) return fmt::format("{}B", b);
  if (b < 1000 * 1000) return fmt::format("{:.3g}kB", b / 1e3);
  if (b < 1000LL * 1000 * 1000) return fmt::format("{:.3g}MB", b / 1e6);
  return fmt::format("{:.3g}GB", b / 1e9);
}

Progress::Mode Progress::mode_for(bool quiet, std::FILE* out) {
  if (quiet) return Mode::quiet;
  return ::isatty(::fileno(out)) ? Mode::tty : Mode::plain;
}

void Progress::line(const std::string& text) {
  if (mode_ == Mode::quiet) return;
  std::lock_guard lock(mu_);
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
  // Lines above the layer rows end the rows' block: later rows start below.
  rows_.clear();
}

std::string Progress::render(const Row& r) const {
  std::string s = r.id + ": " + r.status;
  if (r.bytes >= 0 && r.total > 0) {
    constexpr int width = 50;
    int filled = static_cast<int>(width * std::min<int64_t>(r.bytes, r.total) / r.total);
    std::string bar(width, ' ');
    for (int i = 0; i < filled; i++) bar[i] = '=';
    if (filled < width) bar[filled] = '>';
    s += fmt::format(" [{}] {}/{}", bar, progress_bytes(r.bytes), progress_bytes(r.total));
  }
  return s;
}

void Progress::layer(const std::string& id, const std::string& status, int64_t bytes,
                     int64_t total) {
  if (mode_ == Mode::quiet) return;
  std::lock_guard lock(mu_);
  size_t i = 0;
  while (i < rows_.size() && rows_[i].id != id) i++;
  bool added = i == rows_.size();
  if (added) rows_.push_back({id});
  Row& r = rows_[i];
  bool changed = r.status != status;
  int64_t now = now_ms();
  if (mode_ == Mode::plain) {
    r.status = status;
    if (changed) {
      std::fprintf(out_, "%s: %s\n", id.c_str(), status.c_str());
      std::fflush(out_);
    }
    return;
  }
  // A terminal: redraw the row in place, at most every 100 ms for byte counts alone.
  if (!changed && !added && now - r.drawn_at_ms < 100) {
    r.bytes = bytes;
    r.total = total;
    return;
  }
  r.status = status;
  r.bytes = bytes;
  r.total = total;
  r.drawn_at_ms = now;
  if (added) {
    std::fprintf(out_, "%s\n", render(r).c_str());
  } else {
    size_t up = rows_.size() - i;
    std::fprintf(out_, "\x1b[%zuA\r\x1b[2K%s\x1b[%zuB\r", up, render(r).c_str(), up);
  }
  std::fflush(out_);
}

}  // namespace hull::registry
