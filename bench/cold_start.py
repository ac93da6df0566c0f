#!/usr/bin/env python3
"""Cold start: time to first token of a request to a component at zero copies, against the time to
read the model's bytes from the page cache, measured in the same run.

Goal (issue 4): cold TTFT <= 1.2 x page-cache read + 300 ms.

One `cohost serve` with one virtual device; one component with copies min 0 / initial 0 that
scales back to zero one second after each request. Per repeat:
  1. wait (polling with a deadline) until the component has no copy left;
  2. read the model file twice (the second read, timed, is from the page cache);
  3. send one streaming completion and time its first token;
  4. read the breakdown from the control API's events (wall-clock ms):
       place       request sent -> CopyPlaced  (hold, autoscaler wake-up, placement, spawn call)
       spawn+load  CopyPlaced -> the supervisor's "ready" event (process start, model load, health)
       first token ready -> first token at the client (publish, forward, prefill, one decode step)
Medians are printed and written as JSON with every sample to --out.

Usage: bench/cold_start.py [--cohost build/bin/cohost] [--params 60M] [--repeat 5] [--threads 1]
                           [--model FILE] [--out FILE]
"""
import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def call(port, method, path, body=None, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body=None if body is None else json.dumps(body),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, (json.loads(data) if data[:1] in (b"{", b"[") else data.decode())


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    sys.exit("timed out waiting for " + what)


def read_file_seconds(path):
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while f.read(8 << 20):
            pass
    return time.perf_counter() - start


def first_token(port, model):
    """Sends a streaming completion; returns (wall ms when sent, seconds to the first token)."""
    body = {"model": model, "prompt": "hello", "max_tokens": 4, "ignore_eos": True, "stream": True}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    sent_ms = time.time() * 1000
    start = time.perf_counter()
    c.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        sys.exit("cold request failed: %d %s" % (r.status, r.read()))
    ttft = None
    for line in r:
        if line.startswith(b"data:") and b'"text"' in line and ttft is None:
            ttft = time.perf_counter() - start
        if line.strip() == b"data: [DONE]":
            break
    c.close()
    return sent_ms, ttft


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cohost", default="build/bin/cohost")
    ap.add_argument("--params", default="60M")
    ap.add_argument("--model", default="")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="compute threads of the runner")
    ap.add_argument("--out", default="")
    ap.add_argument("--serve-arg", action="append", default=[],
                    help="one more `cohost serve` argument (repeatable), e.g. --serve-arg=--standby-runners=on")
    a = ap.parse_args()

    cache = os.path.join(os.environ.get("COHOST_CACHE_DIR", os.path.expanduser("~/.cache/cohost")), "bench")
    os.makedirs(cache, exist_ok=True)
    model = a.model or os.path.join(cache, "cold-%s.gguf" % a.params)
    if not os.path.exists(model):
        subprocess.run([a.cohost, "make-model", "--params", a.params, "--seed", "42", "--output", model], check=True)
    size = os.path.getsize(model)

    work = tempfile.mkdtemp(prefix="cold_start.")
    inventory = os.path.join(work, "inventory.json")
    with open(inventory, "w") as f:
        json.dump({"devices": [{"name": "vgpu0", "memory_mib": 16384}], "cpu_cores": 8}, f)
    log = open(os.path.join(work, "serve.log"), "w")
    serve = subprocess.Popen([a.cohost, "serve", "--port", "0", "--data-dir", work, "--inventory", inventory,
                              "--no-demo", "--threads-per-copy", str(a.threads), *a.serve_arg],
                             stdout=log, stderr=log)
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            m = re.search(r"msg=listening .*port=(\d+)", open(os.path.join(work, "serve.log")).read())
            port = int(m.group(1)) if m else None
            time.sleep(0.05)
        if port is None:
            sys.exit("serve did not start; log in " + work)
        call(port, "POST", "/v1/endpoints", {"name": "main"})
        spec = {"name": "cold", "endpoint": "main", "model": {"uri": model},
                "compute": {"accelerators": 1, "cpu_cores": 1},
                "startup": {"context_length": 256, "parallel": 1},
                "copies": {"initial": 0, "min": 0, "max": 1},
                "scaling": {"scale_to_zero_after_s": 1, "scale_in_cooldown_s": 0,
                            "stabilization_window_s": 0, "hold_timeout_s": 300}}
        st, body = call(port, "POST", "/v1/inference-components", spec)
        if st != 201:
            sys.exit("create failed: %s" % body)

        def no_copies():
            return call(port, "GET", "/v1/inference-components/cold")[1].get("status", {}).get("copies") == []

        samples = []
        for i in range(a.repeat):
            wait_until(no_copies, 120, "zero copies")
            read_file_seconds(model)
            read_s = read_file_seconds(model)
            last_seq = max([e["sequence"] for e in call(port, "GET", "/v1/events?limit=1")[1]["events"]] or [0])
            sent_ms, ttft = first_token(port, "cold")
            events = call(port, "GET", "/v1/events?after=%d&limit=1000" % last_seq)[1]["events"]
            placed = min(e["time_ms"] for e in events if e["reason"] == "CopyPlaced")
            ready = min(e["time_ms"] for e in events if e["reason"] == "ready")
            first_ms = sent_ms + ttft * 1000
            s = {"read_ms": read_s * 1000, "ttft_ms": ttft * 1000,
                 "goal_ms": 1.2 * read_s * 1000 + 300,
                 "place_ms": placed - sent_ms, "spawn_load_ms": ready - placed, "first_token_ms": first_ms - ready}
            samples.append(s)
            print("repeat %d: read %.0f ms, cold TTFT %.0f ms (goal %.0f): place %.0f, spawn+load %.0f, "
                  "first token %.0f" % (i + 1, s["read_ms"], s["ttft_ms"], s["goal_ms"], s["place_ms"],
                                        s["spawn_load_ms"], s["first_token_ms"]), flush=True)
        med = {k: statistics.median(x[k] for x in samples) for k in samples[0]}
        verdict = "meets" if med["ttft_ms"] <= med["goal_ms"] else "misses"
        print("median over %d: model %.0f MiB, read %.0f ms, cold TTFT %.0f ms, goal %.0f ms (%s the goal); "
              "place %.0f, spawn+load %.0f, first token %.0f" %
              (len(samples), size / 1048576, med["read_ms"], med["ttft_ms"], med["goal_ms"], verdict,
               med["place_ms"], med["spawn_load_ms"], med["first_token_ms"]))
        if a.out:
            with open(a.out, "w") as f:
                json.dump({"model": model, "model_bytes": size, "threads": a.threads, "median": med,
                           "samples": samples}, f, indent=1)
    finally:
        serve.terminate()
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()


if __name__ == "__main__":
    main()
