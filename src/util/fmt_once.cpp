// fmt's compiled part, built once here instead of in every translation unit.
//
// Debian ships fmt as headers plus a shared libfmt.so, and no static library. Linking the
// shared one would add a library for the loader to map on every `hull create`
// (docs/architecture.md, Performance rules); defining FMT_HEADER_ONLY everywhere, as hull
// did first, compiled fmt's formatting engine into each of ~100 objects (3-5 s of CPU each,
// about half of a cold build). So hull includes fmt's implementation header in this one file
// and instantiates here the templates that format.h declares `extern` without FMT_HEADER_ONLY.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {

template auto thousands_sep_impl<char>(locale_ref) -> thousands_sep_result<char>;
template auto decimal_point_impl<char>(locale_ref) -> char;
template void vformat_to<char>(buffer<char>&, basic_string_view<char>,
                               basic_format_args<FMT_BUFFER_CONTEXT(char)>, locale_ref);
template void buffer<char>::append<char>(const char*, const char*);

}  // namespace detail
FMT_END_NAMESPACE
