# cmake -DIN=cmake/link-order.txt -DOUT=BUILD/link-order.ld -P cmake/link-order.cmake
#
# Turns the list of hot functions (one symbol a line, in the order they should be laid out;
# `#` starts a comment; written by scripts/gen-link-order) into a linker script that adds one
# output section, .text.hull_hot, before .text: each symbol's section from -ffunction-sections
# (.text.SYM, or .text.startup.SYM / .text.hot.SYM where the compiler put it; .text.unlikely.SYM
# for SYM.cold) in list order.
# INSERT keeps the linker's default script in force, and a script given with -T is matched
# before it, so these sections land here and nowhere else. A symbol the objects no longer have
# matches no section and costs nothing: a stale list only lays out less well.
file(STRINGS ${IN} lines)
# The C runtime's start files are not built with -ffunction-sections: _start and its neighbours
# run at every start, so their whole .text comes first.
# Static constructors run at every start, whoever's they are (the libraries' too).
set(body "    *Scrt1.o(.text .text.*)\n    *crt1.o(.text .text.*)\n    *crti.o(.text .text.*)\n    *crtbeginS.o(.text .text.*)\n    *(.text.startup .text.startup.*)\n")
set(members "")
foreach(sym ${lines})
  string(STRIP "${sym}" sym)
  if(sym STREQUAL "" OR sym MATCHES "^#")
    continue()
  endif()
  # libX.a:member.o: an object of a static library built without -ffunction-sections.
  if(sym MATCHES "^[A-Za-z0-9_.+-]+\\.a:[A-Za-z0-9_.+-]+\\.o$")
    string(APPEND members "    *${sym}(.text .text.*)\n")
    continue()
  endif()
  # Mangled names are [A-Za-z0-9_.$]; anything else would be a wildcard or break the script.
  if(NOT sym MATCHES "^[A-Za-z0-9_.$]+$")
    message(FATAL_ERROR "${IN}: '${sym}' is not a symbol name")
  endif()
  # FUNC.cold is the part GCC split off FUNC as unlikely (-freorder-blocks-and-partition), in
  # .text.unlikely.FUNC: it is listed when it ran (an error path the lifecycle takes).
  if(sym MATCHES "^(.+)\\.cold(\\.[0-9]+)?$")
    string(APPEND body "    *(.text.unlikely.${CMAKE_MATCH_1})\n")
  else()
    string(APPEND body "    *(.text.${sym} .text.startup.${sym} .text.hot.${sym})\n")
  endif()
endforeach()
set(script "/* Generated from ${IN} by cmake/link-order.cmake: do not edit. */\nSECTIONS\n{\n  .text.hull_hot :\n  {\n${body}${members}  }\n}\nINSERT BEFORE .text;\n")
file(WRITE ${OUT} "${script}")
