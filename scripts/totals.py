#!/usr/bin/env python3
"""Sum the automake test results (.trs files) of each build directory given
and print one line per directory and a last line "N passed, N failed".
Exit 1 when anything failed or nothing ran."""
import os
import sys

passed = failed = skipped = 0
for d in sys.argv[1:]:
    p = f = s = 0
    for root, _, files in os.walk(d):
        for name in files:
            if not name.endswith(".trs"):
                continue
            with open(os.path.join(root, name), encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if not line.startswith(":test-result:"):
                        continue
                    r = line.split()[1]
                    if r == "PASS" or r == "XFAIL":
                        p += 1
                    elif r == "SKIP":
                        s += 1
                    else:
                        f += 1
    if p or f or s:
        print(f"{d}: {p} passed, {f} failed, {s} skipped")
    passed += p
    failed += f
    skipped += s
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed or passed == 0 else 0)
