// Shared libraries the image store needs, loaded with dlopen on first use: libarchive brings
// a dozen more (libxml2, ICU, nettle, lzma, ...) and libcrypto is 4 MB, so only commands that
// touch images may pay for them — never the OCI path (DESIGN.md, Performance rules; the same
// precedent as src/net/nftables.cpp).
#pragma once

#include <string>

namespace hull::image {

// dlopen(name) once per process, kept until exit; throws naming the Debian package.
void* load_library(const char* name, const char* package);
// dlsym or throw naming the library and symbol.
void* library_symbol(void* lib, const char* lib_name, const char* symbol);

template <typename T>
void bind_symbol(void* lib, const char* lib_name, T& fn, const char* symbol) {
  fn = reinterpret_cast<T>(library_symbol(lib, lib_name, symbol));
}

}  // namespace hull::image
