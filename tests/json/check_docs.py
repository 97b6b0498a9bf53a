#!/usr/bin/python3
"""Fails when a ```cpp block of docs/json.md is not verbatim (up to indentation) in docs_test.cpp."""
import re
import sys

doc_path, test_path = sys.argv[1], sys.argv[2]
doc = open(doc_path, encoding="utf-8").read()
test = open(test_path, encoding="utf-8").read()


def dedent(text):
    lines = text.rstrip("\n").split("\n")
    ind = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
    return "\n".join(l[ind:] for l in lines)


snippets = [dedent(m.group(2)) for m in re.finditer(
    r"^[ \t]*// doc: (\S+)\n(.*?)^[ \t]*// end doc\n", test, re.S | re.M)]
blocks = re.findall(r"```cpp\n(.*?)```", doc, re.S)
if not blocks:
    sys.exit("no cpp blocks in " + doc_path)
bad = [b for b in blocks if dedent(b) not in snippets]
for b in bad:
    print("not found verbatim in the test:\n" + b)
sys.exit(1 if bad else 0)
