// ctxlog/detail/require_cxx20.hpp — the one-line error for a build without C++20.
//
// Every public header includes this first, so a pre-C++20 build stops here with one
// message instead of pages of errors from the headers below it.
#pragma once

#if (defined(_MSVC_LANG) && _MSVC_LANG < 202002L) || (!defined(_MSVC_LANG) && __cplusplus < 202002L)
#error "ctxlog needs C++20: compile with -std=c++20 (MSVC: /std:c++20) or later"
// g++ and clang go on after #error; a missing header is fatal to both, so nothing after
// this line is compiled (MSVC's #error is fatal already).
#include <ctxlog-needs-cxx20>
#endif
