"""Checks a coil-run --trace file against its --profile-csv summary.

  check_trace.py TRACE.json PROFILE.csv THREADS EXPECTED_CALLS

The trace must be Chrome trace-event JSON with one complete ("X") event per
kernel call per thread, each carrying its arguments; the summary's calls must
add up to EXPECTED_CALLS and every traced kernel must appear in it.
"""
import csv
import json
import sys


def main():
    trace_path, csv_path, threads, expected = sys.argv[1:5]
    threads, expected = int(threads), int(expected)
    with open(trace_path) as f:
        trace = json.load(f)
    events = [e for e in trace["traceEvents"] if e.get("ph") == "X"]
    for e in events:
        for key in ("name", "ts", "dur", "pid", "tid", "args"):
            if key not in e:
                sys.exit("event without %s: %r" % (key, e))
        if e["dur"] < 0:
            sys.exit("negative duration: %r" % e)
        for key in ("entry", "step", "layer", "flops", "bytes"):
            if key not in e["args"]:
                sys.exit("event args without %s: %r" % (key, e))
    tids = {e["tid"] for e in events}
    if len(tids) != threads:
        sys.exit("events on %d threads, expected %d" % (len(tids), threads))
    with open(csv_path) as f:
        rows = [r for r in csv.DictReader(f) if r["group"] == "kernel"]
    calls = sum(int(r["calls"]) for r in rows)
    if calls != expected:
        sys.exit("the summary counts %d calls, expected %d" % (calls, expected))
    if len(events) != calls * threads:
        sys.exit("%d trace events, expected %d calls x %d threads" %
                 (len(events), calls, threads))
    summarized = {r["name"].split(" (")[0] for r in rows}
    missing = {e["name"] for e in events} - summarized
    if missing:
        sys.exit("kernels missing from the summary: %s" % sorted(missing))
    print("ok: %d events" % len(events))


main()
