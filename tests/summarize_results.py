#!/usr/bin/env python3
"""Counts test results from ctest's JUnit files and lit's xUnit files.

Usage: summarize_results.py [NAME=]DIR...

Each DIR holds one build's `ctest.xml` and, when the lit suite ran, its
`lit.xml`. ctest runs the whole lit suite as the single test `coil-lit`; its
individual tests are read from lit.xml instead, so every lit test and every
GoogleTest case counts once per build. Failed tests are printed with their
build's NAME; the last line is `N passed, N failed`, and the exit status is 1
if anything failed or nothing ran.
"""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def cases(path):
    """Yields (name, passed) for each test case of a JUnit/xUnit file."""
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}.{case.get('name', '')}"
        failed = case.find("failure") is not None or case.find("error") is not None
        if case.get("status") == "fail":
            failed = True
        skipped = case.find("skipped") is not None
        yield name, (None if skipped else not failed)


def outcomes_of(results):
    """The (name, passed) outcomes of one build's results folder."""
    ctest_xml, lit_xml = results / "ctest.xml", results / "lit.xml"
    outcomes = []
    if ctest_xml.exists():
        for name, ok in cases(ctest_xml):
            if name.endswith(".coil-lit") and lit_xml.exists():
                continue  # counted per test from lit.xml below
            outcomes.append((name, ok))
    if lit_xml.exists():
        outcomes.extend(cases(lit_xml))
    return outcomes


def main():
    outcomes = []
    for argument in sys.argv[1:]:
        label, _, folder = argument.rpartition("=")
        found = outcomes_of(Path(folder))
        if not found:
            found = [("(no results)", False)]
        prefix = f"{label}: " if label else ""
        outcomes.extend((prefix + name, ok) for name, ok in found)
    passed = sum(1 for _, ok in outcomes if ok)
    failed = [name for name, ok in outcomes if ok is False]
    for name in failed:
        print(f"FAILED: {name}")
    if not outcomes:
        print("no test results found")
        failed = ["(none ran)"]
    print(f"{passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
