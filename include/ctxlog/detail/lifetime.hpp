// ctxlog/detail/lifetime.hpp — CTXLOG_LIFETIMEBOUND: marks a view-returning member (or a
// parameter) whose result refers into *this (or that argument). clang then rejects, by
// its default -Wdangling warning, keeping such a view from a temporary:
//   std::string_view id = ctxlog::current().request_id();  // warning: the context dies here
// Other compilers ignore it; sanitizer builds catch the kept view at run time instead.
#pragma once

#if defined(__has_cpp_attribute)
#if __has_cpp_attribute(clang::lifetimebound)
#define CTXLOG_LIFETIMEBOUND [[clang::lifetimebound]]
#endif
#endif
#ifndef CTXLOG_LIFETIMEBOUND
#define CTXLOG_LIFETIMEBOUND
#endif
