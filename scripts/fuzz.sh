#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (issue 12) and grows the kept corpus.
#
#   scripts/fuzz.sh                      # every target, 10 M executions each (the documented run)
#   scripts/fuzz.sh --runs 200000 json   # one target, fewer executions
#   scripts/fuzz.sh --time 30            # every target for 30 s each
#   scripts/fuzz.sh --build build-ci-asan --time 10 --no-merge   # the CI smoke run
#
# Builds build-fuzz/ with clang, -Dfuzz=true (libFuzzer coverage on the whole library) and
# ASan + UBSan, then per target: fuzzes from the kept corpus tests/fuzz/corpus/<target>/
# into a scratch folder, and merges back (-merge=1) only the inputs that reach new
# coverage, so the kept corpus stays small. A crash, leak, sanitizer report or broken
# property stops the run with a non-zero status; libFuzzer leaves the input as
# crash-*/leak-*/timeout-* in build-fuzz/findings/, to be added to the corpus once fixed.
# --build DIR uses an existing build configured with -Dfuzz=true (CI's clang ASan build);
# --no-merge leaves the kept corpus as it is.
# Installs missing Debian packages first (scripts/install-deps.sh). See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10000000
seconds=""
build=build-fuzz
merge=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --time) seconds="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --no-merge) merge=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(json trace layouts record)
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
  [ -d "tests/fuzz/corpus/$t" ] || { echo "fuzz.sh: no target '$t' (have: ${all[*]})" >&2; exit 2; }
done

./scripts/install-deps.sh
if [ ! -f "$build/build.ninja" ]; then
  CXX=clang++ meson setup "$build" -Dfuzz=true -Dbuildtype=debugoptimized -Db_lundef=false \
    -Db_sanitize=address,undefined -Dexamples=false -Dbench=false >/dev/null
fi
ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz_}"

mkdir -p "$build/findings"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for t in "${targets[@]}"; do
  corpus="tests/fuzz/corpus/$t"
  scratch="$build/scratch/$t"
  rm -rf "$scratch" && mkdir -p "$scratch"
  limit=(-runs="$runs")
  [ -n "$seconds" ] && limit=(-max_total_time="$seconds")
  log="$build/findings/$t.log"
  echo "== fuzz_$t: ${limit[*]}, corpus $corpus ($(ls "$corpus" | wc -l) files)"
  start=$(date +%s)
  if ! "$build/tests/fuzz/fuzz_$t" "${limit[@]}" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build/findings/" "$scratch" "$corpus" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz_$t FAILED: the input is in $build/findings/, the log in $log" >&2
    exit 1
  fi
  # "Done 10000000 runs in 312 second(s)" and the final stats.
  grep -E '^Done |stat::number_of_executed_units|stat::peak_rss_mb' "$log" | sed 's/^/   /'
  before=$(ls "$corpus" | wc -l)
  if [ "$merge" = 1 ]; then
    "$build/tests/fuzz/fuzz_$t" -merge=1 -max_len=4096 "$corpus" "$scratch" >>"$log" 2>&1
  fi
  echo "   $(( $(date +%s) - start )) s; corpus $before -> $(ls "$corpus" | wc -l) files"
done
