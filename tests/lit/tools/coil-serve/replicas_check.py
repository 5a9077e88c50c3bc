"""Two coil-serve replicas behind HAProxy on loopback.

Usage: replicas_check.py COIL_SERVE MODEL_SO WEIGHTS_DIR WORK_DIR

HAProxy hashes the X-Session-Id header onto the replicas (consistent
hashing, health-checked through /health): every request of a session goes
to the same replica, so its next turn finds its state in that replica's
prefix cache; sessions spread over both replicas; when one replica stops,
its sessions' new requests go to the other. Prints one line per check;
exits 1 on the first failure.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

SERVE, MODEL, WEIGHTS, WORK = sys.argv[1:5]
SERVE = shutil.which(SERVE) or SERVE
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def replica(name):
    proc = subprocess.Popen(
        [SERVE, MODEL, "--weights", WEIGHTS, "--port", "0", "--threads", "1",
         "--context", "12", "--model-name", name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    m = re.search(r"http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
    if not m:
        fail("replica %s did not start: %s" % (name, proc.stderr.read()))
    return proc, int(m.group(1))


def post(port, body, session):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/v1/completions" % port,
        data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("X-Session-Id", session)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


if not os.path.exists(HAPROXY):
    fail("haproxy is not installed (tools/setup.sh installs it)")

a, port_a = replica("replica-a")
b, port_b = replica("replica-b")
front = free_port()
config = os.path.join(WORK, "haproxy.cfg")
with open(config, "w") as f:
    f.write("""global
    maxconn 256
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
frontend coil
    bind 127.0.0.1:%d
    default_backend replicas
backend replicas
    balance hdr(X-Session-Id)
    hash-type consistent
    option httpchk GET /health
    http-check expect status 200
    default-server inter 100ms fall 1 rise 1
    server a 127.0.0.1:%d check
    server b 127.0.0.1:%d check
""" % (front, port_a, port_b))
proxy = subprocess.Popen([HAPROXY, "-f", config, "-db"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
try:
    deadline = time.time() + 10
    while True:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/health" % front,
                                        timeout=2) as r:
                if r.status == 200:
                    break
        except Exception:
            pass
        if time.time() > deadline or proxy.poll() is not None:
            fail("haproxy did not come up: %s" % proxy.stderr.read())
        time.sleep(0.05)
    time.sleep(0.3)  # both replicas checked up
    print("ok haproxy up")

    # Every session sticks to one replica; its second turn (the first turn's
    # prompt and answer, then more) is a prefix cache hit there.
    home = {}
    for i in range(8):
        session = "conversation-%d" % i
        first = {"prompt": [1, 4 + i], "max_tokens": 3, "temperature": 0,
                 "ignore_eos": True}
        code, reply = post(front, first, session)
        if code != 200:
            fail("session %s: %d %s" % (session, code, reply))
        home[session] = reply["model"]
        turn = first["prompt"] + reply["choices"][0]["token_ids"] + [5]
        for _ in range(2):
            code, again = post(front, dict(first, prompt=turn), session)
            if code != 200 or again["model"] != home[session]:
                fail("session %s moved: %r" % (session, again))
            cached = again["usage"]["prompt_tokens_details"]["cached_tokens"]
            if cached < len(first["prompt"]):
                fail("session %s: no prefix cache hit on its replica: %r"
                     % (session, again["usage"]))
    used = sorted(set(home.values()))
    if used != ["replica-a", "replica-b"]:
        fail("sessions did not spread over both replicas: %r" % home)
    print("ok affinity: 8 sessions on %s, each turn on its replica, cached"
          % used)

    # Replica a stops: its sessions' new requests are served by b.
    a.send_signal(signal.SIGTERM)
    a.wait(timeout=30)
    moved = [s for s, r in home.items() if r == "replica-a"]
    for session in moved:
        code, reply = post(front, {"prompt": [1, 2], "max_tokens": 2,
                                   "temperature": 0}, session)
        if code != 200 or reply["model"] != "replica-b":
            fail("failover of %s: %d %r" % (session, code, reply))
    print("ok failover: %d sessions of the stopped replica served by the other"
          % len(moved))
finally:
    proxy.terminate()
    proxy.wait(timeout=10)
    for p in (a, b):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
print("all passed")
