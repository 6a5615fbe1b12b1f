// ctxlog/detail/lifetime.hpp — lifetime guards.
// CTXLOG_LIFETIMEBOUND marks a view-returning member (or a parameter) whose result refers
// into *this (or that argument). clang then rejects, by its default -Wdangling warning,
// keeping such a view from a temporary:
//   std::string_view id = ctxlog::snapshot().request_id();  // warning: the context dies here
// Other compilers ignore it. CTXLOG_DETAIL_ASAN is 1 in AddressSanitizer builds, where
// freed frames are never reused, so a view kept past its frame is reported at run time.
#pragma once

#if defined(__has_cpp_attribute)
#if __has_cpp_attribute(clang::lifetimebound)
#define CTXLOG_LIFETIMEBOUND [[clang::lifetimebound]]
#endif
#endif
#ifndef CTXLOG_LIFETIMEBOUND
#define CTXLOG_LIFETIMEBOUND
#endif

#if defined(__SANITIZE_ADDRESS__)
#define CTXLOG_DETAIL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CTXLOG_DETAIL_ASAN 1
#endif
#endif
#ifndef CTXLOG_DETAIL_ASAN
#define CTXLOG_DETAIL_ASAN 0
#endif
