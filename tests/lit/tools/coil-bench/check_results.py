"""Validates a coil-bench --quick output folder.

Checks the JSON schema, that every number is positive and finite, that every
requested point of every experiment is present for every model, that the CSV
has the same rows, and that every chart is well-formed SVG.
"""
import csv
import json
import math
import os
import sys
import xml.etree.ElementTree as ET

QUICK_POINTS = {
    "prefill": [16, 64],
    "prefill-latency": [16, 64],
    "decode-context": [0, 32],
    "decode-batch": [1, 4],
    "ttft": [0],
    "e2e": [1],
    "state-memory": [64, 256],
    "serve-concurrency": [1, 4],
}

# The serve study's rates follow from what the machine sustained: three
# per model, the same for every model.
SERVE_RATE_EXPERIMENTS = ["serve-throughput", "serve-ttft", "serve-tpot",
                          "serve-e2e"]


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def check_precision(results, models, out):
    """The precision study: f32 and bf16 (--quick) for every model; f32 is
    its own reference (ratios 1, no differences), bf16 stores the matrices
    in half the bytes of f32 but not all of the parameters (norms, biases,
    the scan's parameters stay f32)."""
    study = results["precision"]
    rows = {(r["model"], r["format"]): r for r in study["rows"]}
    if sorted(rows) != sorted((m, f) for m in models for f in ("f32", "bf16")):
        fail("precision rows %r" % sorted(rows))
    for (model, fmt), r in rows.items():
        for key in ("weight_bytes", "prefill_tokens_per_s",
                    "decode_tokens_per_s", "prefill_ratio_to_f32",
                    "decode_ratio_to_f32"):
            if not (r[key] > 0 and math.isfinite(r[key])):
                fail("precision %s %s: %s is %r" % (model, fmt, key, r[key]))
        if r["compared_rows"] != study["prompts"] * study["generated_tokens"]:
            fail("precision %s %s compared %r rows" % (model, fmt,
                                                      r["compared_rows"]))
        if not 0 <= r["greedy_agreement"] <= 1 or r["mean_kl_nats"] < 0:
            fail("precision %s %s: accuracy %r" % (model, fmt, r))
    for model in models:
        f32, bf16 = rows[(model, "f32")], rows[(model, "bf16")]
        if (f32["prefill_ratio_to_f32"] != 1 or f32["decode_ratio_to_f32"] != 1
                or f32["max_relative_logit_difference"] != 0
                or f32["greedy_agreement"] != 1):
            fail("precision %s: f32 differs from itself" % model)
        if not 0.5 * f32["weight_bytes"] < bf16["weight_bytes"] < \
                0.51 * f32["weight_bytes"]:
            fail("precision %s: bf16 weights take %r of f32's %r bytes" %
                 (model, bf16["weight_bytes"], f32["weight_bytes"]))
        if not 0 < bf16["max_relative_logit_difference"] < 0.1:
            fail("precision %s: bf16 logits differ by %r" %
                 (model, bf16["max_relative_logit_difference"]))
    ET.parse(os.path.join(out, "precision.svg"))


def main():
    out = sys.argv[1]
    with open(os.path.join(out, "results.json")) as f:
        results = json.load(f)
    if results.get("format") != "coil-bench" or results.get("version") != 1:
        fail("not a coil-bench v1 result")
    if not results["complete"] or not results["quick"]:
        fail("expected a complete --quick run")
    machine = results["machine"]
    for key in ("cpu", "logical_cores", "isa", "os", "compiler", "coil",
                "git_revision"):
        if key not in machine:
            fail("machine description lacks " + key)
    cores = machine["logical_cores"]
    limits = results["limits"]
    for key in ("fma_gflops", "read_gbps"):
        if not (limits[key] > 0 and math.isfinite(limits[key])):
            fail("limit %s is %r" % (key, limits[key]))
    models = [m["label"] for m in results["models"]]
    families = sorted(m["family"] for m in results["models"])
    if families != ["llama", "mamba", "mamba2", "nemotron_h"]:
        fail("expected one mamba, mamba2, nemotron_h and llama model, got %r"
             % families)
    for m in results["models"]:
        if m["parameters"] <= 0:
            fail("model %s has no parameters" % m["label"])

    expected = dict(QUICK_POINTS)
    if cores > 1:
        expected["threads-prefill"] = [1, cores]
        expected["threads-decode"] = [1, cores]
    experiments = {e["name"]: e for e in results["experiments"]}
    rates = sorted(p["x"] for p in experiments["serve-throughput"]["points"]
                   if p["model"] == models[0])
    if len(rates) != 3 or rates[0] <= 0:
        fail("serve-throughput rates %r" % rates)
    for name in SERVE_RATE_EXPERIMENTS:
        expected[name] = rates
    for p in experiments["serve-throughput"]["points"]:
        extra = p["extra"]
        for key in ("sent", "completed", "ttft_ms_p50", "ttft_ms_p99",
                    "e2e_s_p90", "tokens_per_s"):
            if not (isinstance(extra.get(key), (int, float)) and extra[key] > 0):
                fail("serve point %s x=%s: %s is %r" % (p["model"], p["x"],
                                                        key, extra.get(key)))
        if extra["rejected"] != 0:
            fail("serve point %s x=%s: requests were refused" % (p["model"],
                                                                  p["x"]))
    rows = 0
    for name, xs in expected.items():
        if name not in experiments:
            fail("experiment %s missing" % name)
        points = experiments[name]["points"]
        for model in models:
            got = sorted(p["x"] for p in points if p["model"] == model)
            if got != sorted(xs):
                fail("%s/%s has points %r, expected %r" % (name, model, got,
                                                           xs))
        for p in points:
            rows += 1
            for key in ("value", "min", "max", "seconds_median"):
                v = p[key]
                if not (isinstance(v, (int, float)) and v > 0 and
                        math.isfinite(v)):
                    fail("%s %s x=%s: %s is %r" % (name, p["model"], p["x"],
                                                    key, v))
            if not p["min"] <= p["value"] <= p["max"]:
                fail("%s %s x=%s: median outside [min, max]" %
                     (name, p["model"], p["x"]))
            if p["runs"] < 1:
                fail("%s: no runs" % name)
            r = p["roofline_fraction"]
            if r is not None and not (r > 0 and math.isfinite(r)):
                fail("%s: roofline fraction %r" % (name, r))
        ET.parse(os.path.join(out, name + ".svg"))
    with open(os.path.join(out, "results.csv")) as f:
        if len(list(csv.DictReader(f))) != sum(
                len(e["points"]) for e in results["experiments"]):
            fail("results.csv rows differ from results.json")
    if "Verdict:" not in results["summary"]:
        fail("no verdict in the summary")
    check_precision(results, models, out)
    print("ok: %d points, %d experiments" % (rows, len(expected)))


main()
