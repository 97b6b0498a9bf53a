#!/usr/bin/env python3
"""Runs one libFuzzer target (meson's suite 'fuzz' and scripts/fuzz call this).

  run.py corpus EXE CORPUS DICT ARTIFACTS          every file of CORPUS once (a regression set)
  run.py fuzz   EXE CORPUS DICT ARTIFACTS SECONDS  fuzz from CORPUS for SECONDS; new inputs go to
                                                   a temporary directory, never into CORPUS
  run.py merge  EXE CORPUS DICT ARTIFACTS SECONDS  fuzz, then merge the inputs that add coverage
                                                   into CORPUS (-merge=1): scripts/fuzz

A crash, leak, undefined behaviour, timeout or out-of-memory fails the run; the input that did it
is written to ARTIFACTS (crash-<sha1>, leak-..., timeout-..., oom-...) and named in the output.
"""
import os
import subprocess
import sys
import tempfile

# The same bounds everywhere: inputs up to 4 KiB (packets, requests), 1 GiB of memory, and 10 s
# for one input (anything near that is a hang).
LIMITS = ["-max_len=4096", "-rss_limit_mb=1024", "-timeout=10", "-malloc_limit_mb=512"]


def main(argv):
    mode, exe, corpus, dictionary, artifacts = argv[1:6]
    os.makedirs(artifacts, exist_ok=True)
    common = LIMITS + ["-artifact_prefix=" + os.path.join(artifacts, "")]
    if os.path.exists(dictionary):
        common.append("-dict=" + dictionary)
    if mode == "corpus":
        return subprocess.call([exe, "-runs=0"] + common + [corpus])
    seconds = argv[6]
    with tempfile.TemporaryDirectory(prefix="portico-fuzz-") as fresh:
        # The first directory receives new inputs; the committed corpus is only read.
        rc = subprocess.call([exe, "-max_total_time=" + seconds, "-print_final_stats=1"] + common + [fresh, corpus])
        if rc != 0 or mode != "merge":
            return rc
        if not os.listdir(fresh):
            return 0
        return subprocess.call([exe, "-merge=1"] + common + [corpus, fresh])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
