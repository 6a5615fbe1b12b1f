// tests/propagation/tbb_tsan.hpp — TSan suppressions for the suites that run oneTBB.
//
// Debian's libtbb is not built with TSan, so every task hand-off inside TBB looks like a
// race. Reports whose stack goes through TBB are suppressed; include this in exactly one
// file of a test executable that uses TBB.
#pragma once

#if defined(__SANITIZE_THREAD__)
#define CTXLOG_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CTXLOG_TEST_TSAN 1
#endif
#endif
#ifdef CTXLOG_TEST_TSAN
extern "C" const char* __tsan_default_suppressions() { return "race:tbb::detail::\nrace:libtbb.so\n"; }
#endif
