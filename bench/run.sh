#!/usr/bin/env bash
# Runs every benchmark binary of a build directory (default: build/), with a description
# of the machine, compiler and flags first; prints the output and keeps a copy in
# bench/results/<date>.txt (git-ignored). `make bench` calls this.
#
#   ./bench/run.sh [build-dir]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
if [ ! -d "$build/bench" ]; then
  echo "run.sh: no benchmarks in $build (build first: make build, or meson setup + ninja)" >&2
  exit 1
fi

mkdir -p "$root/bench/results"
out=$root/bench/results/$(date +%Y-%m-%d_%H%M%S).txt

describe() {
  echo "==== machine ===="
  echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpu:       $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "nproc:     $(nproc)"
  local flags
  flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'constant_tsc|nonstop_tsc|hypervisor' | tr '\n' ' ')
  echo "cpu flags: $flags"
  echo "kernel:    $(uname -sr)"
  echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; other work on the machine skews timings)"
  if git -C "$root" rev-parse --short HEAD >/dev/null 2>&1; then
    local dirty=""
    git -C "$root" diff-index --quiet HEAD -- 2>/dev/null || dirty=" + uncommitted changes"
    echo "source:    $(git -C "$root" rev-parse --short HEAD)$dirty"
  fi
  # The compiler and the flags one benchmark was compiled with.
  python3 - "$build" <<'EOF'
import json, os, shlex, subprocess, sys
build = sys.argv[1]
try:
    opts = {o["name"]: o["value"] for o in json.load(open(os.path.join(build, "meson-info", "intro-buildoptions.json")))}
    print(f"meson:     buildtype={opts.get('buildtype')} optimization={opts.get('optimization')} "
          f"b_ndebug={opts.get('b_ndebug')} b_sanitize={opts.get('b_sanitize')} b_lto={opts.get('b_lto')}")
    for cmd in json.load(open(os.path.join(build, "compile_commands.json"))):
        if cmd["file"].endswith("bench/hot_path_latency.cpp"):
            args = shlex.split(cmd["command"])
            ver = subprocess.run([args[0], "--version"], capture_output=True, text=True).stdout.splitlines()[0]
            print(f"compiler:  {args[0]}: {ver}")
            keep = [a for a in args[1:] if a.startswith(("-O", "-f", "-m", "-D", "-W", "-std", "-g", "-p"))
                    and not a.startswith(("-fdiagnostics", "-MD", "-MQ", "-MF"))]
            print("flags:     " + " ".join(keep))
            break
except Exception as e:  # an old or foreign build dir: say so, do not fail the run
    print(f"flags:     unknown ({e})")
EOF
}

run_all() {
  describe
  local mine=(baseline context_ops hot_path_latency throughput)
  local others
  # Anything else meson built under bench/ (the propagation benchmarks), in name order.
  others=$(find "$build/bench" -type f -executable ! -path '*.p/*' ! -name '*.so*' | sort)
  for b in "${mine[@]}"; do
    [ -x "$build/bench/$b" ] || { echo "(missing: $build/bench/$b)"; continue; }
    echo
    echo "==== bench/$b ===="
    "$build/bench/$b" || echo "(bench/$b exited with status $?)"
  done
  for path in $others; do
    local name=${path#"$build/bench/"}
    case " ${mine[*]} " in *" $name "*) continue ;; esac
    echo
    echo "==== bench/$name ===="
    "$path" || echo "(bench/$name exited with status $?)"
  done
}

run_all 2>&1 | tee "$out"
echo
echo "results kept in ${out#"$root/"}"
