#!/usr/bin/python3
"""Checks that every code block of a markdown document preceded by `<!-- snippet: NAME -->` is,
line for line, the `// [doc:NAME]` ... `// [/doc]` region of a test source (indentation of the
region removed). usage: check_docs.py DOC.md SOURCE.cpp"""
import re
import sys
import textwrap


def regions(source: str) -> dict:
    found = {}
    for m in re.finditer(r"^[ \t]*// \[doc:([\w-]+)\]\n(.*?)^[ \t]*// \[/doc\]", source, re.M | re.S):
        found[m.group(1)] = textwrap.dedent(m.group(2)).rstrip("\n")
    return found


def main() -> int:
    doc = open(sys.argv[1], encoding="utf-8").read()
    code = regions(open(sys.argv[2], encoding="utf-8").read())
    blocks = re.findall(r"<!-- snippet: ([\w-]+) -->\s*\n```cpp\n(.*?)\n```", doc, re.S)
    if not blocks:
        print("no snippets found in", sys.argv[1])
        return 1
    bad = 0
    for name, text in blocks:
        if name not in code:
            print(f"snippet {name!r}: no region in {sys.argv[2]}")
            bad += 1
        elif code[name] != text.rstrip("\n"):
            print(f"snippet {name!r} differs from the test source:\n--- doc\n{text}\n--- test\n{code[name]}")
            bad += 1
    unused = sorted(set(code) - {n for n, _ in blocks})
    if unused:
        print("regions not shown in the document:", unused)
        bad += 1
    print(f"{len(blocks)} snippets checked, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
