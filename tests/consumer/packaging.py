#!/usr/bin/env python3
"""tests/consumer/packaging.py — uses ctxlog the three ways a project picks it up.

Installs the build (meson install --destdir) into a temporary prefix, then builds and runs
tests/consumer/packaging/main.cpp
  cmake:  with CMake, find_package(ctxlog CONFIG REQUIRED) + ctxlog::ctxlog;
  pkg-config: with the compiler and `pkg-config --cflags --libs ctxlog` (prefix moved);
  subproject: as a meson project with ctxlog as its subproject (only the library is built).
Each program's line must be JSON with the request id and the kv array. Exit 77: skip.
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(msg, out=""):
    print("FAIL: " + msg)
    if out:
        print(out)
    sys.exit(1)


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if p.returncode != 0:
        fail("%s exited with %d" % (" ".join(cmd), p.returncode), p.stdout)
    return p.stdout


def check(how, exe):
    out = run([exe])
    lines = [l for l in out.splitlines() if l.strip()]
    if len(lines) != 1:
        fail("%s: expected one line" % how, out)
    j = json.loads(lines[0])
    if j.get("requestId") != "packaged-1" or j.get("ids") != [1, 2]:
        fail("%s: unexpected line" % how, out)
    print("ok: %s: %s" % (how, lines[0]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--cxx", required=True)
    ap.add_argument("--jobs", default="0", help="parallel compile jobs of its own builds (0: the tools' default)")
    a = ap.parse_args()
    jobs = ["-j", a.jobs] if a.jobs != "0" else []
    for tool in ("cmake", "pkg-config", "meson", "ninja"):
        if not shutil.which(tool):
            print("skipped: %s not found" % tool)
            sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        dest = os.path.join(tmp, "dest")
        run(["meson", "install", "-C", a.build, "--no-rebuild", "--quiet", "--destdir", dest])
        info = json.load(open(os.path.join(a.build, "meson-info", "intro-buildoptions.json")))
        opts = {o["name"]: o["value"] for o in info}
        prefix = dest + opts["prefix"]
        libdir = os.path.join(prefix, opts["libdir"])
        cxx = shlex.split(a.cxx)

        # CMake: find_package against the installed prefix.
        cm = os.path.join(tmp, "cmake")
        run(["cmake", "-S", os.path.join(HERE, "packaging"), "-B", cm, "-G", "Ninja",
             "-DCMAKE_PREFIX_PATH=" + prefix, "-DCMAKE_CXX_COMPILER=" + cxx[0], "-DCMAKE_BUILD_TYPE=Release"])
        run(["cmake", "--build", cm] + jobs)
        check("cmake find_package", os.path.join(cm, "app"))

        # pkg-config: the .pc file with its prefix moved to the temporary one.
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))
        flags = run(["pkg-config", "--define-variable=prefix=" + prefix, "--cflags", "--libs", "ctxlog"], env=env).split()
        exe = os.path.join(tmp, "app_pkgconfig")
        run(cxx + ["-std=c++20", "-O1", os.path.join(HERE, "packaging", "main.cpp"), "-o", exe] + flags + ["-pthread"])
        check("pkg-config", exe)

        # meson subproject: subprojects/ctxlog is the source tree.
        proj = os.path.join(tmp, "subproject")
        shutil.copytree(os.path.join(HERE, "packaging"), proj)
        os.makedirs(os.path.join(proj, "subprojects"))
        os.symlink(a.source, os.path.join(proj, "subprojects", "ctxlog"))
        bdir = os.path.join(proj, "build")
        run(["meson", "setup", bdir, proj], env=dict(os.environ, CXX=a.cxx))
        run(["ninja", "-C", bdir, "app"] + jobs)
        check("meson subproject", os.path.join(bdir, "app"))


if __name__ == "__main__":
    main()
