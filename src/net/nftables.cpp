#include "net/nftables.h"

#include <dlfcn.h>
#include <nftables/libnftables.h>

#include <cctype>
#include <cstring>

#include "util/error.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::net {

struct Nftables::Api {
  decltype(&nft_ctx_new) ctx_new;
  decltype(&nft_ctx_buffer_output) buffer_output;
  decltype(&nft_ctx_buffer_error) buffer_error;
  decltype(&nft_ctx_get_output_buffer) output;
  decltype(&nft_ctx_get_error_buffer) error;
  decltype(&nft_run_cmd_from_buffer) run;
};

namespace {

template <typename T>
void bind(void* lib, T& fn, const char* name) {
  fn = reinterpret_cast<T>(::dlsym(lib, name));
  if (!fn) fail("libnftables.so.1: no symbol {}", name);
}

// nft's errors span lines ("Error: Could not process rule: File exists", the command, a
// caret line): the first line says what went wrong.
std::string first_error_line(const char* text) {
  std::string s = text ? text : "";
  auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  if (s.rfind("Error: ", 0) == 0) s.erase(0, 7);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s.empty() ? "failed" : s;
}

}  // namespace

ErrorKind nft_error_kind(const std::string& line) {
  for (int err : {EEXIST, ENOENT, EBUSY, EPERM, EACCES}) {
    std::string_view text = ::strerrordesc_np(err);
    if (line.size() >= text.size() &&
        line.compare(line.size() - text.size(), text.size(), text) == 0)
      return kind_of_errno(err);
  }
  return ErrorKind::other;
}

Nftables& Nftables::get() {
  static Nftables instance;
  return instance;
}

Nftables::Nftables() {
  void* lib = ::dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) fail("load libnftables.so.1 (install libnftables1): {}", ::dlerror());
  api_ = new Api;
  bind(lib, api_->ctx_new, "nft_ctx_new");
  bind(lib, api_->buffer_output, "nft_ctx_buffer_output");
  bind(lib, api_->buffer_error, "nft_ctx_buffer_error");
  bind(lib, api_->output, "nft_ctx_get_output_buffer");
  bind(lib, api_->error, "nft_ctx_get_error_buffer");
  bind(lib, api_->run, "nft_run_cmd_from_buffer");
  nft_ctx* ctx = api_->ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) fail("nftables: cannot create a context");
  api_->buffer_output(ctx);
  api_->buffer_error(ctx);
  ctx_ = ctx;
  // The library and context live until exit: hull is a short-lived process.
}

std::string Nftables::run(const std::string& commands) {
  auto* ctx = static_cast<nft_ctx*>(ctx_);
  log::debug("nft: {}", commands);
  if (api_->run(ctx, commands.c_str()) != 0) {
    std::string line = first_error_line(api_->error(ctx));
    throw Error(nft_error_kind(line), fmt::format("nftables: {}", line));
  }
  const char* out = api_->output(ctx);
  return out ? out : "";
}

bool Nftables::try_run(const std::string& commands) {
  try {
    run(commands);
    return true;
  } catch (const Error& e) {
    log::debug("{}", e.what());
    return false;
  }
}

}  // namespace hull::net
