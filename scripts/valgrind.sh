#!/usr/bin/env bash
# Runs the core test suites under valgrind memcheck (issue 12, item 6), one after another.
#
#   scripts/valgrind.sh                     # every core suite, release build in build/
#   scripts/valgrind.sh --build DIR misuse  # one suite of another (non-sanitizer) build
#
# memcheck sees what the sanitizer builds cannot: the release build's own code (-O3, the
# code users run), reads of uninitialised memory (ASan does not look for those; MSan would
# need an instrumented libstdc++), and leaks without ASan's allocator. An error or a
# definite leak fails the suite (exit 9). Child processes a suite starts (fork + exec of
# /proc/self/exe) run natively. Slow (20-50x; test_queue_growth alone took 264 s), so it
# is not part of CI. Installs missing Debian packages first (scripts/install-deps.sh), and
# valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
suites=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "valgrind.sh: unknown option $1" >&2; exit 2 ;;
    *) suites+=("$1"); shift ;;
  esac
done
# The core suites of tests/meson.build (core_tests), in its order.
all=(context borrow storage json log isolation sinks backend layout order values schemas console levels
     redaction flight_recorder sampling lifetimes queue_growth misuse soak)
[ ${#suites[@]} -gt 0 ] || suites=("${all[@]}")

./scripts/install-deps.sh valgrind
[ -f "$build/build.ninja" ] || meson setup "$build"
sanitize=$(python3 -c 'import json, sys
print(next(o["value"] for o in json.load(open(sys.argv[1])) if o["name"] == "b_sanitize"))' \
  "$build/meson-info/intro-buildoptions.json")
if [ "$sanitize" != none ]; then
  echo "valgrind.sh: $build is a sanitizer build; memcheck needs a plain one" >&2
  exit 2
fi
ninja -C "$build" "${suites[@]/#/tests/test_}"

out="$build/valgrind"
mkdir -p "$out"
failed=0
for s in "${suites[@]}"; do
  log="$out/$s.log"
  start=$(date +%s)
  # --max-threads: test_queue_growth and test_soak start hundreds of threads at once.
  # CTXLOG_SOAK_SECONDS: the soak's duration is wall time; 10 s is plenty under memcheck.
  # --child-silent-after-fork: a child forked without exec has no back-end thread, so the
  # thread-exit list that thread registered shows as a leak there; the parent is checked.
  if CTXLOG_SOAK_SECONDS=10 valgrind --tool=memcheck --error-exitcode=9 --leak-check=full \
       --child-silent-after-fork=yes \
       --errors-for-leak-kinds=definite --show-leak-kinds=definite --max-threads=1100 \
       --log-file="$log" "$build/tests/test_$s" >"$out/$s.out" 2>&1; then
    result=clean
  else
    result="FAILED (exit $?, see $log and $out/$s.out)"
    failed=1
  fi
  errors=$(grep -o "ERROR SUMMARY: [0-9]* errors" "$log" | head -1 || true)
  printf '%-16s %5d s  %s  %s\n' "$s" $(( $(date +%s) - start )) "$result" "$errors"
done
exit $failed
