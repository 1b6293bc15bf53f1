# Writes a C++ file defining one function per asset that returns the asset's
# bytes (a raw string literal), so the status page and its map are part of
# the binary and nothing is read from disk or the network at view time.
#
# cmake -DOUTPUT=FILE.cc -DHEADER=path/of/header.h -P embed_assets.cmake \
#   FUNCTION PATH [FUNCTION PATH...]
# Each asset must be text without the literal's closing delimiter.
cmake_minimum_required(VERSION 3.25)

set(delimiter "herd_asset")
set(code "// Generated at build time by herdnode/ops/status/embed_assets.cmake.\n")
string(APPEND code "// Do not edit: edit the assets themselves.\n")
string(APPEND code "#include \"${HEADER}\"\n\nnamespace herd {\n")

# Arguments after the script's own: cmake, -DOUTPUT, -DHEADER, -P, script.
math(EXPR last "${CMAKE_ARGC} - 1")
set(first 0)
foreach(i RANGE ${last})
  if(CMAKE_ARGV${i} STREQUAL "-P")
    math(EXPR first "${i} + 2")
  endif()
endforeach()
if(first EQUAL 0 OR first GREATER last)
  message(FATAL_ERROR "embed_assets.cmake: no FUNCTION PATH pairs given")
endif()

set(i ${first})
while(i LESS_EQUAL last)
  math(EXPR path_index "${i} + 1")
  if(path_index GREATER last)
    message(FATAL_ERROR "embed_assets.cmake: ${CMAKE_ARGV${i}} has no PATH")
  endif()
  set(function "${CMAKE_ARGV${i}}")
  set(path "${CMAKE_ARGV${path_index}}")
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "embed_assets.cmake: ${path} does not exist")
  endif()
  file(READ "${path}" content)
  string(FIND "${content}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR
      "embed_assets.cmake: ${path} contains )${delimiter}\" and cannot be "
      "embedded as a raw string literal")
  endif()
  string(APPEND code "\nstd::string_view ${function}() {\n"
    "  static constexpr char kText[] = R\"${delimiter}(${content})${delimiter}\";\n"
    "  return {kText, sizeof(kText) - 1};\n}\n")
  math(EXPR i "${i} + 2")
endwhile()
string(APPEND code "\n}  // namespace herd\n")

file(WRITE "${OUTPUT}" "${code}")
