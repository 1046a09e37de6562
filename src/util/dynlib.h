// Heavy shared libraries loaded with dlopen on first use, so only the commands that need them
// pay for mapping them, never the OCI path (docs/architecture.md, Performance rules):
// libarchive brings a dozen more (libxml2, ICU, nettle, lzma, ...), libcrypto is 4 MB,
// libcurl and libsystemd (for --systemd-cgroup) bring their own.
#pragma once

#include <string>

namespace hull {

// dlopen(name) once per process, kept until exit; throws naming the Debian package.
void* load_library(const char* name, const char* package);
// dlsym or throw naming the library and symbol.
void* library_symbol(void* lib, const char* lib_name, const char* symbol);

template <typename T>
void bind_symbol(void* lib, const char* lib_name, T& fn, const char* symbol) {
  fn = reinterpret_cast<T>(library_symbol(lib, lib_name, symbol));
}

}  // namespace hull
