#include "util/dynlib.h"

#include <dlfcn.h>

#include "util/error.h"

namespace hull {

void* load_library(const char* name, const char* package) {
  void* lib = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!lib) fail("load {} (install {}): {}", name, package, ::dlerror());
  return lib;
}

void* library_symbol(void* lib, const char* lib_name, const char* symbol) {
  void* fn = ::dlsym(lib, symbol);
  if (!fn) fail("{}: no symbol {}", lib_name, symbol);
  return fn;
}

}  // namespace hull
