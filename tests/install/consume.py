#!/usr/bin/python3
"""Install + consume: installs portico from the source tree into a prefix under the build dir
(a separate, test-free meson configuration, as a packager would), then builds and runs one small
program against the installed package from (a) a meson project using dependency('portico')
through pkg-config and (b) a CMake project using find_package(portico) -> portico::portico.

usage: consume.py SOURCE_ROOT WORK_DIR CXX VERSION"""
import glob
import os
import shutil
import subprocess
import sys
import time

src, work, cxx, version = sys.argv[1:5]
here = os.path.join(src, "tests", "install")
prefix = os.path.join(work, "prefix")
expected = f"portico {version}\n42/chat,7[\"hello\",\"world\"]\n"  # EVENT, nsp /chat, ack id 7
env = dict(os.environ, CXX=cxx)
env.pop("PKG_CONFIG_PATH", None)
env.pop("CMAKE_PREFIX_PATH", None)
failures = []


def run(*cmd, cwd=None, extra_env=None):
    t = time.monotonic()
    r = subprocess.run(list(cmd), cwd=cwd, env=dict(env, **(extra_env or {})),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(f"$ {' '.join(cmd)}  ({time.monotonic() - t:.1f} s, exit {r.returncode})")
    if r.returncode != 0:
        print(r.stdout)
        raise SystemExit(f"FAILED: {' '.join(cmd)}")
    return r.stdout


def copy_project(name):
    dst = os.path.join(work, name + "-src")
    shutil.copytree(os.path.join(here, name), dst)
    shutil.copy(os.path.join(here, "consumer.cpp"), dst)
    shutil.copy(os.path.join(here, "redis_consumer.cpp"), dst)
    shutil.copy(os.path.join(here, "tls_consumer.cpp"), dst)
    return dst


# The Redis layer is checked wherever hiredis is installed (scripts/setup installs it).
have_hiredis = subprocess.run(["pkg-config", "--exists", "hiredis"], env=env).returncode == 0
expected_redis = "redis connecting 34 bytes, binary-safe\n"


def needed_libraries(exe):
    out = subprocess.run(["readelf", "-d", exe], stdout=subprocess.PIPE, text=True).stdout
    return [l.split("[", 1)[1].rstrip("]") for l in out.splitlines() if "(NEEDED)" in l]


def check_redis(what, build_dir):
    """The plain consumer links no hiredis; the Redis consumer exists, links it and runs."""
    if any("hiredis" in lib for lib in needed_libraries(os.path.join(build_dir, "consumer"))):
        failures.append(what + " plain consumer links hiredis")
        print(f"{what}: the consumer without <portico/redis/...> links hiredis")
    if not have_hiredis:
        print(f"{what}: hiredis not installed, Redis consumer not checked")
        return
    exe = os.path.join(build_dir, "redis_consumer")
    if not os.path.isfile(exe):
        failures.append(what + " redis consumer")
        print(f"{what}: redis_consumer was not built (portico-redis / portico::redis not found)")
        return
    out = run(exe)
    if out != expected_redis or not any("hiredis" in lib for lib in needed_libraries(exe)):
        failures.append(what + " redis consumer")
        print(f"{what}: redis consumer: {out!r}, needs {needed_libraries(exe)}")
    else:
        print(f"{what} (redis): ok: {out.strip()}")


# Client TLS likewise wherever OpenSSL is installed.
have_openssl = subprocess.run(["pkg-config", "--exists", "openssl"], env=env).returncode == 0


def check_tls(what, build_dir):
    """The plain consumer links no OpenSSL; the TLS consumer exists, links it and runs."""
    if any("libssl" in lib for lib in needed_libraries(os.path.join(build_dir, "consumer"))):
        failures.append(what + " plain consumer links OpenSSL")
        print(f"{what}: the consumer without <portico/client/tls.hpp> links OpenSSL")
    if not have_openssl:
        print(f"{what}: OpenSSL not installed, TLS consumer not checked")
        return
    exe = os.path.join(build_dir, "tls_consumer")
    if not os.path.isfile(exe):
        failures.append(what + " tls consumer")
        print(f"{what}: tls_consumer was not built (portico-tls / portico::tls not found)")
        return
    out = run(exe)
    if out != "tls checked\n" or not any("libssl" in lib for lib in needed_libraries(exe)):
        failures.append(what + " tls consumer")
        print(f"{what}: tls consumer: {out!r}, needs {needed_libraries(exe)}")
    else:
        print(f"{what} (tls): ok: {out.strip()}")


def check_output(what, exe):
    out = run(exe)
    if out != expected:
        failures.append(what)
        print(f"{what}: unexpected output:\n{out!r}\nexpected:\n{expected!r}")
    else:
        print(f"{what}: ok: {out.splitlines()[-1]}")


shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)

# 1. Install (headers, portico.pc, CMake package files) into the prefix.
run("meson", "setup", os.path.join(work, "portico-build"), src, "--prefix", prefix,
    "-Dtests=false", "-Dexamples=false", "-Dbenchmarks=false")
run("meson", "install", "-C", os.path.join(work, "portico-build"), "--quiet")
pcs = glob.glob(os.path.join(prefix, "**", "pkgconfig", "portico.pc"), recursive=True)
configs = glob.glob(os.path.join(prefix, "**", "porticoConfig.cmake"), recursive=True)
for what, found in (("include/portico/portico.hpp", [os.path.join(prefix, "include", "portico", "portico.hpp")]),
                    ("portico.pc", pcs), ("porticoConfig.cmake", configs)):
    if not found or not os.path.isfile(found[0]):
        raise SystemExit(f"FAILED: {what} was not installed under {prefix}")
    print(f"installed: {os.path.relpath(found[0], prefix)}")

# 2. meson + pkg-config. The include path must be the prefix's, not the source tree's.
pc_env = {"PKG_CONFIG_PATH": os.path.dirname(pcs[0])}
cflags = run("pkg-config", "--cflags", "portico", extra_env=pc_env)
if os.path.join(prefix, "include") not in cflags:
    failures.append("pkg-config cflags")
    print(f"pkg-config --cflags portico does not point into the prefix: {cflags}")
meson_src = copy_project("meson_consumer")
meson_build = os.path.join(work, "meson-consumer")
run("meson", "setup", meson_build, meson_src, "-Doptimization=0", "-Ddebug=false", extra_env=pc_env)
run("ninja", "-C", meson_build)
check_output("meson consumer", os.path.join(meson_build, "consumer"))
check_redis("meson consumer", meson_build)
check_tls("meson consumer", meson_build)

# 3. CMake + find_package (no package registry: only CMAKE_PREFIX_PATH may find it).
cmake_src = copy_project("cmake_consumer")
cmake_build = os.path.join(work, "cmake-consumer")
generator = ["-G", "Ninja"] if shutil.which("ninja") else []
run("cmake", "-S", cmake_src, "-B", cmake_build, *generator, "-DCMAKE_PREFIX_PATH=" + prefix,
    "-DCMAKE_CXX_COMPILER=" + cxx, "-DCMAKE_BUILD_TYPE=", "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF")
with open(os.path.join(cmake_build, "CMakeCache.txt"), encoding="utf-8") as f:
    portico_dir = next((l.split("=", 1)[1].strip() for l in f if l.startswith("portico_DIR:")), "")
if not portico_dir.startswith(prefix):
    failures.append("find_package location")
    print(f"find_package(portico) found {portico_dir!r}, not the prefix")
run("cmake", "--build", cmake_build)
check_output("cmake consumer", os.path.join(cmake_build, "consumer"))
check_redis("cmake consumer", cmake_build)
check_tls("cmake consumer", cmake_build)

print("failures:", failures if failures else "none")
sys.exit(1 if failures else 0)
