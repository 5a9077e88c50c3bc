"""Drives a coil-serve on loopback and checks what it answers.

Usage: serve_check.py COIL_SERVE MODEL_SO WEIGHTS_DIR SLOW_SO SLOW_WEIGHTS

MODEL_SO is a tiny model with a tokenizer; SLOW_SO a larger one without,
whose long prompts keep a slot busy for a second or so.

Starts the server with --port 0, then: health; a text completion and the
same prompt as token ids (same tokens, greedy); streaming (events end with
[DONE], their text joins to the whole text); bad input (malformed JSON,
wrong types, unknown fields, an oversized body, a prompt beyond the
context, a bad endpoint) each a 4xx with a JSON error body; more requests
than slots + queue get 503; a streaming client that disconnects has its
request cancelled; a fuzz of malformed bodies leaves the server serving;
SIGTERM lets a running request finish and the server exits 0. Prints one
line per check; exits 1 on the first failure.
"""

import json
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

SERVE, MODEL, WEIGHTS, SLOW, SLOW_WEIGHTS = sys.argv[1:6]
SERVE = shutil.which(SERVE) or SERVE


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def start(*extra, model=MODEL, weights=WEIGHTS):
    proc = subprocess.Popen(
        [SERVE, model, "--weights", weights, "--port", "0", "--threads", "1"]
        + list(extra),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    if not m:
        fail("no address in %r; stderr: %s" % (line, proc.stderr.read()))
    return proc, int(m.group(1))


def request(port, path, body=None, raw=None, timeout=30):
    data = raw if raw is not None else (
        json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=data, method="POST" if data is not None else "GET")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def expect_error(port, status, what, body=None, raw=None):
    code, text = request(port, "/v1/completions", body=body, raw=raw)
    if code != status:
        fail("%s: status %d, wanted %d: %s" % (what, code, status, text))
    try:
        err = json.loads(text)["error"]
        assert isinstance(err["message"], str) and err["message"]
    except Exception:
        fail("%s: not a JSON error body: %r" % (what, text))
    print("ok %d %s: %s" % (status, what, err["message"]))


def stream(port, body):
    """The events of a streamed completion."""
    code, text = request(port, "/v1/completions", body=dict(body, stream=True))
    if code != 200:
        fail("stream: status %d: %s" % (code, text))
    events = [e[len("data: "):] for e in text.split("\n\n") if e]
    if events[-1] != "[DONE]":
        fail("stream does not end with [DONE]: %r" % events[-1:])
    return [json.loads(e) for e in events[:-1]]


proc, port = start("--slots", "2", "--max-queue", "1", "--context", "12",
                   "--max-tokens", "8", "--max-body-bytes", "4096")

code, text = request(port, "/health")
if code != 200 or json.loads(text)["status"] != "ok":
    fail("health: %d %s" % (code, text))
print("ok health")

greedy = {"prompt": "the cat", "max_tokens": 5, "temperature": 0,
          "ignore_eos": True}
code, text = request(port, "/v1/completions", greedy)
if code != 200:
    fail("completion: %d %s" % (code, text))
done = json.loads(text)
choice = done["choices"][0]
if len(choice["token_ids"]) != 5 or done["usage"]["completion_tokens"] != 5:
    fail("completion: %r" % done)
if done["usage"]["prompt_tokens"] != 3 or choice["finish_reason"] != "length":
    fail("completion usage: %r" % done)
print("ok completion: %r" % choice["text"])

by_ids = dict(greedy, prompt=[1, 32, 35])
code, text = request(port, "/v1/completions", by_ids)
again = json.loads(text)["choices"][0]
if again["token_ids"] != choice["token_ids"] or again["text"] != choice["text"]:
    fail("token-id prompt: %r vs %r" % (again, choice))
if json.loads(text)["usage"]["prompt_tokens_details"]["cached_tokens"] != 3:
    fail("the same prompt again is not a prefix cache hit: %s" % text)
print("ok token-id prompt, cached")

events = stream(port, greedy)
if "".join(e["choices"][0]["text"] for e in events) != choice["text"]:
    fail("streamed text differs: %r" % events)
if events[-1]["choices"][0]["finish_reason"] != "length":
    fail("last event: %r" % events[-1])
print("ok stream: %d events" % len(events))

# A stop string taken from the greedy text: the text ends before its first
# occurrence, finish_reason "stop".
text = choice["text"]
stop = next((c for c in text[1:] if c.strip()), None)
if stop is None:
    fail("the greedy text %r has nothing to stop at" % text)
code, reply = request(port, "/v1/completions", dict(greedy, stop=[stop]))
stopped = json.loads(reply)["choices"][0]
if stopped["text"] != text[:text.index(stop)] or stopped["finish_reason"] != "stop":
    fail("stop %r on %r: %r" % (stop, text, stopped))
print("ok stop string")

expect_error(port, 400, "malformed JSON", raw=b'{"prompt": "a"')
expect_error(port, 400, "not an object", raw=b'[1, 2]')
expect_error(port, 400, "unknown field", {"prompt": "a", "temprature": 1})
expect_error(port, 400, "wrong type", {"prompt": "a", "max_tokens": "5"})
expect_error(port, 400, "max_tokens above the limit",
             {"prompt": "a", "max_tokens": 9})
expect_error(port, 400, "token outside the vocabulary", {"prompt": [1, 37]})
expect_error(port, 400, "prompt beyond the context", {"prompt": [1] * 12})
expect_error(port, 400, "empty prompt", {"prompt": []})
expect_error(port, 400, "n > 1", {"prompt": "a", "n": 2})
expect_error(port, 413, "oversized body", raw=b'{"prompt": "' + b"a" * 5000 + b'"}')
code, text = request(port, "/v2/nothing")
if code != 404 or "error" not in json.loads(text):
    fail("unknown endpoint: %d %s" % (code, text))
print("ok 404 unknown endpoint")

# One slot and one queued request at most, on the slow model: a third
# request gets 503; a client that disconnects has its request cancelled;
# the queued one then runs to its end.
proc2, port2 = start("--slots", "1", "--max-queue", "1", "--context", "2048",
                     "--max-tokens", "32", "--prefix-cache-mb", "0",
                     model=SLOW, weights=SLOW_WEIGHTS)
rng = random.Random(3)


def send_raw(port, body):
    s = socket.create_connection(("127.0.0.1", port))
    data = json.dumps(body).encode()
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
              b"application/json\r\nContent-Length: %d\r\n\r\n%s"
              % (len(data), data))
    return s


def in_flight(port):
    return json.loads(request(port, "/health")[1])["in_flight"]


def long_request():
    return {"prompt": [rng.randrange(37) for _ in range(1500)],
            "max_tokens": 32, "temperature": 0, "stream": True}


first = send_raw(port2, long_request())
second = send_raw(port2, long_request())
deadline = time.time() + 10
while in_flight(port2) < 2 and time.time() < deadline:
    time.sleep(0.01)
if in_flight(port2) != 2:
    fail("two requests were not admitted")
expect_error(port2, 503, "beyond slots and queue", long_request())
first.recv(64)  # its headers: it is running
first.close()
reply = b""
while True:
    chunk = second.recv(65536)
    if not chunk:
        break
    reply += chunk
    if b"data: [DONE]" in reply:
        break
second.close()
if not reply.startswith(b"HTTP/1.1 200") or b'"finish_reason":"length"' not in reply:
    fail("the queued request did not finish: %r" % reply[-300:])
deadline = time.time() + 10
while time.time() < deadline:
    metrics = request(port2, "/metrics")[1]
    cancelled = re.search(r'coil_requests_total\{outcome="cancelled"\} (\d+)',
                          metrics)
    if cancelled and int(cancelled.group(1)) >= 1 and in_flight(port2) == 0:
        break
    time.sleep(0.05)
else:
    fail("the disconnected request was not cancelled:\n" + metrics)
if 'coil_requests_total{outcome="rejected"} 1' not in metrics:
    fail("the 503 is not counted:\n" + metrics)
print("ok disconnected request cancelled, queued one finished")
proc2.send_signal(signal.SIGTERM)
if proc2.wait(timeout=30) != 0:
    fail("the slow server did not exit 0")

# Fuzz: malformed bodies of every kind; the server keeps answering.
rng = random.Random(5)
pieces = [b'{', b'}', b'[', b']', b'"prompt"', b':', b',', b'"a"', b'1', b'-1',
          b'null', b'true', b'1e999', b'"\\u0000"', b'\xff', b'"max_tokens"',
          b'"stream"', b'"stop"', b'"temperature"', b'0.5', b'[1,2]', b'"x"' * 50]
codes = {}
for i in range(300):
    body = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
    code, text = request(port, "/v1/completions", raw=body)
    codes[code] = codes.get(code, 0) + 1
    if code >= 500 and code != 503:
        fail("fuzz body %r: %d %s" % (body, code, text))
    if code != 200:
        try:
            json.loads(text)["error"]
        except Exception:
            fail("fuzz body %r: no JSON error: %r" % (body, text))
code, text = request(port, "/health")
if code != 200:
    fail("not healthy after the fuzz: %d" % code)
print("ok fuzz: %s" % sorted(codes.items()))

code, metrics = request(port, "/metrics")
for name in ["coil_requests_total", "coil_generated_tokens_total",
             "coil_queue_depth", "coil_time_to_first_token_seconds_bucket",
             "coil_time_per_output_token_seconds_count",
             "coil_prefix_cache_hits_total"]:
    if name not in metrics:
        fail("metrics lack %s" % name)
print("ok metrics")

# SIGTERM with a request running: it finishes, then the server exits 0.
result = {}
def run_one():
    try:
        result["reply"] = request(port, "/v1/completions",
                                  {"prompt": [1], "max_tokens": 8,
                                   "ignore_eos": True})
    except Exception as e:  # reported below
        result["reply"] = (0, repr(e))
t = threading.Thread(target=run_one)
t.start()
time.sleep(0.05)
proc.send_signal(signal.SIGTERM)
t.join(timeout=30)
rc = proc.wait(timeout=30)
if rc != 0:
    fail("exit status %d after SIGTERM: %s" % (rc, proc.stderr.read()))
code, text = result.get("reply", (0, ""))
if code not in (200, 503):
    fail("request during shutdown: %d %s" % (code, text))
print("ok shutdown: exit 0, the running request got %d" % code)
print("all passed")
