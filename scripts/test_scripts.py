#!/usr/bin/python3
"""Tests of scripts/summarize (how test output is counted), scripts/amalgamate (in a scratch tree) and
scripts/doc_snippets (the rules for the C++ blocks of the docs).

Run: /usr/bin/python3 scripts/test_scripts.py   (registered in tests/meson.build as `scripts`)
"""
import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    loader = importlib.machinery.SourceFileLoader(name, os.path.join(HERE, name))
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


summarize = load("summarize")


def counted(result, stdout="", stderr=""):
    return summarize.count_test({"result": result, "stdout": stdout, "stderr": stderr})[:3]


class CountTest(unittest.TestCase):
    def test_catch2_all_passed(self):
        self.assertEqual(counted("OK", "====\nAll tests passed (7 assertions in 2 test cases)\n"), (2, 0, 0))
        self.assertEqual(counted("OK", "All tests passed (1 assertion in 1 test case)\n"), (1, 0, 0))

    def test_catch2_some_failed(self):
        out = "test cases: 3 | 2 passed | 1 failed\nassertions: 9 | 8 passed | 1 failed\n"
        self.assertEqual(counted("FAIL", out), (2, 1, 0))
        self.assertEqual(counted("FAIL", "test cases: 2 | 2 failed\nassertions: 2 | 2 failed\n"), (0, 2, 0))

    def test_catch2_failed_as_expected_counts_as_passed(self):
        self.assertEqual(counted("OK", "test cases: 3 | 2 passed | 1 failed as expected\n"), (3, 0, 0))

    def test_crash_after_all_passed_is_a_failure(self):
        self.assertEqual(counted("FAIL", "All tests passed (2 assertions in 2 test cases)\n"), (2, 1, 0))

    def test_crash_without_summary_is_one_failure(self):
        self.assertEqual(counted("FAIL", "some output\n"), (0, 1, 0))
        self.assertEqual(counted("TIMEOUT", ""), (0, 1, 0))

    def test_node_tap_and_spec(self):
        tap = "# tests 4\n# suites 0\n# pass 3\n# fail 1\n# cancelled 0\n# skipped 0\n# todo 0\n"
        self.assertEqual(counted("FAIL", tap), (3, 1, 0))
        self.assertEqual(counted("TIMEOUT", "# pass 3\n# fail 0\n# cancelled 1\n"), (3, 1, 0))
        self.assertEqual(counted("OK", "\u2139 tests 4\n\u2139 pass 4\n\u2139 fail 0\n"), (4, 0, 0))

    def test_python_unittest(self):
        self.assertEqual(counted("OK", stderr="....\nRan 4 tests in 0.1s\n\nOK\n"), (4, 0, 0))
        self.assertEqual(counted("OK", stderr="Ran 3 tests in 0.1s\n\nOK (skipped=1)\n"), (2, 0, 1))
        failed = "Ran 5 tests in 0.1s\n\nFAILED (failures=1, errors=1, skipped=1)\n"
        self.assertEqual(counted("FAIL", stderr=failed), (2, 2, 1))

    def test_anything_else_counts_by_result(self):
        self.assertEqual(counted("OK", "hello\n"), (1, 0, 0))
        self.assertEqual(counted("FAIL", "hello\n"), (0, 1, 0))
        self.assertEqual(counted("EXPECTEDFAIL", "test cases: 1 | 1 failed\n"), (1, 0, 0))
        self.assertEqual(counted("SKIP"), (0, 0, 1))


class SummaryTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        os.makedirs(os.path.join(self.dir, "meson-logs"))

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, entries, status):
        with open(os.path.join(self.dir, "meson-logs", "testlog.json"), "w") as f:
            for e in entries:
                f.write(json.dumps(e) + "\n")
        with open(os.path.join(self.dir, ".portico-status"), "w") as f:
            f.write(status)

    def run_summarize(self):
        p = subprocess.run([sys.executable, os.path.join(HERE, "summarize"), self.dir], capture_output=True,
                           text=True)
        return p.returncode, p.stdout.rstrip("\n").splitlines()[-1]

    def test_green_run_exits_zero(self):
        self.write([{"name": "a", "result": "OK", "stdout": "All tests passed (3 assertions in 2 test cases)\n"}],
                   "setup=ok\nbuild=ok\n")
        self.assertEqual(self.run_summarize(), (0, "2 passed, 0 failed"))

    def test_failed_build_and_unbuilt_tests_count_as_failures(self):
        self.write([{"name": "a", "result": "OK", "stdout": "x"}], "setup=ok\nbuild=failed\nmissing=b\n")
        self.assertEqual(self.run_summarize(), (1, "1 passed, 2 failed"))

    def test_missing_log_is_a_failure(self):
        self.assertEqual(self.run_summarize(), (1, "0 passed, 1 failed"))


class AmalgamateTest(unittest.TestCase):
    """Runs a copy of scripts/amalgamate in a scratch tree shaped like the project."""

    def setUp(self):
        self.root = tempfile.mkdtemp()
        os.makedirs(os.path.join(self.root, "scripts"))
        shutil.copy(os.path.join(HERE, "amalgamate"), os.path.join(self.root, "scripts"))
        self.header("version.hpp", "#pragma once\n#define PORTICO_VERSION_MAJOR 1\n#define PORTICO_VERSION_MINOR 2\n"
                    "#define PORTICO_VERSION_PATCH 3\n")
        self.header("json/value.hpp", "#pragma once\n#include <string>\n#include \"../version.hpp\"\nint v();\n")
        self.header("codec.hpp", "#pragma once\n#include \"json/value.hpp\"\nint c();\n")
        self.header("portico.hpp", "#pragma once\n#include \"version.hpp\"\n#include \"codec.hpp\"\n"
                    "#include \"json/value.hpp\"\n")

    def tearDown(self):
        shutil.rmtree(self.root)

    def header(self, rel, text):
        path = os.path.join(self.root, "include", "portico", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    def run_script(self, *args):
        return subprocess.run([sys.executable, os.path.join(self.root, "scripts", "amalgamate")] + list(args),
                              capture_output=True, text=True)

    def output(self):
        with open(os.path.join(self.root, "single_include", "portico", "portico.hpp")) as f:
            return f.read()

    def test_each_header_once_in_include_order(self):
        self.assertEqual(self.run_script().returncode, 0)
        text = self.output()
        self.assertEqual(text.count("#pragma once"), 1)
        self.assertEqual(text.count("int v();"), 1)
        self.assertLess(text.index("PORTICO_VERSION_MAJOR 1"), text.index("int v();"))
        self.assertLess(text.index("int v();"), text.index("int c();"))
        self.assertIn("#include <string>", text)
        self.assertNotIn('#include "', text)
        self.assertIn("portico 1.2.3", text.splitlines()[0])

    def test_check_detects_a_stale_file(self):
        self.assertNotEqual(self.run_script("--check").returncode, 0)  # not generated yet
        self.run_script()
        self.assertEqual(self.run_script("--check").returncode, 0)
        self.header("codec.hpp", "#pragma once\n#include \"json/value.hpp\"\nint c2();\n")
        stale = self.run_script("--check")
        self.assertNotEqual(stale.returncode, 0)
        self.assertIn("stale", stale.stderr)

    def test_refuses_missing_and_conditional_includes(self):
        self.header("codec.hpp", "#pragma once\n#include \"nope.hpp\"\n")
        self.assertIn("not found", self.run_script().stderr)
        self.header("codec.hpp", "#pragma once\n#ifdef X\n#include \"version.hpp\"\n#endif\n")
        self.assertIn("inside #if", self.run_script().stderr)


class DocSnippetsTest(unittest.TestCase):
    """The checker must refuse what would let an uncompiled snippet into the docs."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def run_script(self, *args):
        r = subprocess.run([sys.executable, os.path.join(HERE, "doc_snippets"), *args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=self.dir)
        return r.returncode, r.stdout

    GOOD = ("# page\n\n<!-- snippet: one -->\n```cpp\nint one() { return 1; }\n```\n\n"
            "<!-- snippet: two; after: one -->\n```cpp\nint two() { return one() + 1; }\n```\n\n"
            "<!-- snippet: three; body: int x -->\n```cpp\nint y = x;\n```\n\n"
            "<!-- not compiled: shows an error on purpose -->\n```cpp\nint z = ;\n```\n\n"
            "```sh\nls\n```\n")

    def test_tagged_page_passes_and_generates_one_unit(self):
        page = self.write("docs/good.md", self.GOOD)
        code, out = self.run_script("check", page)
        self.assertEqual(code, 0, out)
        self.assertIn("3 snippets (0 mirrored from tests, 3 generated), 0 problems", out)
        unit = os.path.join(self.dir, "unit.cpp")
        code, out = self.run_script("generate", "--root", self.dir, unit, page)
        self.assertEqual(code, 0, out)
        text = open(unit, encoding="utf-8").read()
        self.assertIn("namespace doc_good {", text)
        self.assertIn("using namespace snippet_one;", text)
        self.assertIn("[[maybe_unused]] void three(int x) {", text)
        self.assertIn('#line 5 "' + page + '"', text)  # errors point at the page
        self.assertNotIn("int z = ;", text)              # the marked block is left out
        self.assertIn('{"docs/good.md", "two"}', text)

    def test_untagged_cpp_block_fails(self):
        page = self.write("bad.md", "text\n\n```cpp\nint x;\n```\n")
        code, out = self.run_script("check", page)
        self.assertEqual(code, 1)
        self.assertIn("bad.md:3: C++ block without a tag", out)
        code, _ = self.run_script("generate", os.path.join(self.dir, "unit.cpp"), page)
        self.assertEqual(code, 1)

    def test_block_without_language_and_reasonless_exception_fail(self):
        page = self.write("bad.md", "```\nls\n```\n\n<!-- not compiled: -->\n```cpp\nint x;\n```\n")
        code, out = self.run_script("check", page)
        self.assertEqual(code, 1)
        self.assertIn("without a language", out)
        self.assertIn("needs a reason", out)

    def test_bad_options_fail(self):
        page = self.write("bad.md", "<!-- snippet: a; after: nowhere -->\n```cpp\nint a;\n```\n"
                                    "<!-- snippet: a -->\n```cpp\nint b;\n```\n")
        code, out = self.run_script("check", page)
        self.assertEqual(code, 1)
        self.assertIn("names no earlier snippet", out)
        self.assertIn("appears twice", out)

    def test_page_mixing_mirrored_and_generated_snippets(self):
        src = self.write("t.cpp", "// [doc:shown]\nint shown = 1;\n// [/doc]\n")
        page = self.write("mixed.md", "<!-- snippet: shown -->\n```cpp\nint shown = 1;\n```\n"
                                      "<!-- snippet: extra -->\n```cpp\nint extra = 2;\n```\n")
        code, out = self.run_script("check", page + "=" + src)
        self.assertEqual(code, 0, out)
        self.assertIn("2 snippets (1 mirrored from tests, 1 generated)", out)
        unit = os.path.join(self.dir, "unit.cpp")
        self.assertEqual(self.run_script("generate", "--root", self.dir, unit, page + "=" + src)[0], 0)
        text = open(unit, encoding="utf-8").read()
        self.assertIn("int extra = 2;", text)
        self.assertNotIn("int shown = 1;", text)  # compiled by its test, not twice

    def test_mirrored_page_drift_and_unshown_region_fail(self):
        src = self.write("t.cpp", "void f() {\n  // [doc:a]\n  int x = 1;\n  // [/doc]\n"
                                  "  // [doc:b]\n  int y = 2;\n  // [/doc]\n}\n")
        same = self.write("same.md", "<!-- snippet: a -->\n```cpp\nint x = 1;\n```\n"
                                     "<!-- snippet: b -->\n```cpp\nint y = 2;\n```\n")
        self.assertEqual(self.run_script("check", same + "=" + src)[0], 0)
        drift = self.write("drift.md", "<!-- snippet: a -->\n```cpp\nint x = 3;\n```\n")
        code, out = self.run_script("check", drift + "=" + src)
        self.assertEqual(code, 1)
        self.assertIn("differs from the test source", out)
        self.assertIn("not shown in the page (renamed?): ['b']", out)


if __name__ == "__main__":
    unittest.main()
