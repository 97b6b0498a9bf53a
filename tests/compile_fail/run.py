#!/usr/bin/python3
"""Compile-fail check of one snippet.

usage: run.py SNIPPET.cpp -- COMPILER [ARGS...]

The snippet states what must happen in comments at its top:
  // expect: TEXT      (repeatable) TEXT must appear in the FIRST error line
  // expect-success    the snippet must compile (a control for the flags and include paths)
The compiler runs with -fsyntax-only. It must fail, its first line containing "error:" must
contain every expected text, and it must report exactly one error (no cascade). The number of
output lines and of error lines is printed in every case.
"""
import os
import subprocess
import sys


def main() -> int:
    if "--" not in sys.argv:
        print(__doc__)
        return 2
    sep = sys.argv.index("--")
    snippet = sys.argv[1]
    compiler = sys.argv[sep + 1:]
    with open(snippet, encoding="utf-8") as f:
        head = [line.strip() for line in f.readlines()[:20]]
    expects = [l[len("// expect:"):].strip() for l in head if l.startswith("// expect:")]
    want_success = any(l.startswith("// expect-success") for l in head)
    if not expects and not want_success:
        print(f"{snippet}: no '// expect:' line")
        return 2

    env = dict(os.environ, LC_ALL="C", LANG="C")
    cmd = compiler + ["-fsyntax-only", "-fno-diagnostics-color", snippet]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                          universal_newlines=True, timeout=110)
    out = proc.stdout
    lines = out.splitlines()
    errors = [l for l in lines if "error:" in l]
    print(f"{os.path.basename(snippet)}: exit {proc.returncode}, {len(lines)} output lines, "
          f"{len(errors)} error lines")

    def fail(why: str) -> int:
        print("FAIL:", why)
        print("command:", " ".join(cmd))
        print(out)
        return 1

    if want_success:
        return 0 if proc.returncode == 0 else fail("expected to compile")
    if proc.returncode == 0:
        return fail("compiled, but it must not")
    if not errors:
        return fail("no error line in the output")
    first = errors[0]
    print("first error:", first)
    missing = [e for e in expects if e not in first]
    if missing:
        return fail(f"first error line lacks {missing!r}")
    if len(errors) != 1:
        return fail(f"{len(errors)} errors, expected exactly one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
