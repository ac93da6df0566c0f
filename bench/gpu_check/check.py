#!/usr/bin/env python3
"""GPU check of cohost on one GPU machine: every section independent, results in $OUT/results.json.

Sections (SECTIONS=a,b picks some; BUDGET_S, default 470, skips what would not fit):
  env         the machine: GPU, driver, CPU, CUDA libraries, MPS
  devices     `cohost devices` (discovery)
  models      generated test models (20M F32, 1B F16)
  throughput  runner vs llama-batched-bench at 1, 16, 64 streams (1B F16, prompt 128, 256 generated),
              with the runner's per-step host time from /stats; at 64 also the runner with
              --host-sampling (the old path) for the before/after
  loader      8B Q8_0 from a warm page cache: data phase and time to first token for stream
              (pinned-async, pinned, pageable), mmap, read and auto; bounds in the same run
              (read_bound, copy_bound)
  serve       `cohost serve` on the GPU: reservations against real use (/v1/devices, nvidia-smi),
              a burst, cold start from zero (with standby runners) and its phases, the
              reclaim of idle equal-priority copies (issue 13 part 4)
  mps         `cohost serve --mps on`: shares enforced, runner environment, a capped copy's speed
  profile     `cohost profile` without --devices (the catalog ships with the binary)
SMALL=1 runs a short version on a CPU machine to test the script itself.
"""
import concurrent.futures as cf
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import traceback

BIN = os.environ.get("GBIN", os.path.dirname(os.path.abspath(__file__)) + "/bin")
OUT = os.environ.get("OUT", "/tmp/gpu-check")
LOGS = "/tmp/gpu-check-logs"
SMALL = os.environ.get("SMALL") == "1"
ALL = "env,devices,models,throughput,loader,serve,mps,profile"
SECTIONS = os.environ.get("SECTIONS", ALL).split(",")
BUDGET_S = float(os.environ.get("BUDGET_S", "470"))
# Rough section costs on the H200 (s), to skip what would overrun the budget.
COST = {"env": 3, "devices": 5, "models": 25, "throughput": 120, "loader": 110, "serve": 80, "mps": 40, "profile": 40}
M = "/tmp/gpu-check-models"
for d in (OUT, LOGS, M):
    os.makedirs(d, exist_ok=True)
R = {"started": time.time(), "small": SMALL}
T0 = time.time()
TINY, BIG = M + "/tiny.gguf", M + "/m1b-f16.gguf"
LOADM = M + ("/m100m-q8.gguf" if SMALL else "/m8b-q8.gguf")


def save():
    with open(OUT + "/results.json", "w") as f:
        json.dump(R, f, indent=1)


def log(*a):
    print(f"[{time.time() - T0:7.1f}s]", *a, flush=True)


def run(cmd, timeout=60, check=True, env=None):
    p = subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True, timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise RuntimeError(f"{cmd} -> rc {p.returncode}: {p.stderr[-1500:]}{p.stdout[-500:]}")
    return p


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def req(port, method, path, body=None, timeout=120):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body=None if body is None else json.dumps(body), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        return r.status, json.loads(data)
    except Exception:
        return r.status, data.decode(errors="replace")


def wait_http(port, path, proc, deadline_s=180):
    end = time.time() + deadline_s
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited rc={proc.returncode} before {path} answered")
        try:
            if req(port, "GET", path, timeout=2)[0] == 200:
                return
        except Exception:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{path} on {port} did not answer in {deadline_s}s")


def spawn(args, name, env=None):
    f = open(f"{LOGS}/{name}.log", "w")
    return subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, start_new_session=True, env=env)


def stop(p):
    if p and p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except Exception:
            p.kill()
            p.wait()


def section(name):
    def deco(fn):
        def wrapper():
            if name not in SECTIONS:
                return
            left = BUDGET_S - (time.time() - T0)
            if left < COST.get(name, 30) * (0.2 if SMALL else 1.0):
                R.setdefault("skipped", []).append(name)
                log(f"--- {name} skipped: {left:.0f}s of budget left")
                save()
                return
            log(f"=== {name}")
            t = time.time()
            R[name] = {}
            try:
                fn(R[name])
            except Exception as e:
                R[name]["error"] = f"{type(e).__name__}: {e}"
                log(f"!!! {name} failed: {e}")
                traceback.print_exc(file=sys.stdout)
            R[name]["section_s"] = round(time.time() - t, 1)
            log(f"=== {name} done in {R[name]['section_s']}s")
            save()
        return wrapper
    return deco


def cohost(*a):
    return [BIN + "/cohost", *a]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def log_fields(path, marker):
    """key=value fields of the last log line containing `marker`."""
    out = {}
    try:
        for line in open(path, errors="replace"):
            if marker in line:
                out = {}
                for tok in line.split():
                    if "=" in tok:
                        k, v = tok.split("=", 1)
                        try:
                            out[k] = float(v)
                        except ValueError:
                            out[k] = v.strip('"')
    except FileNotFoundError:
        pass
    return out


@section("env")
def env(r):
    for k, c in [("gpu", "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader"),
                 ("cpu", "lscpu | grep -E 'Model name|^CPU\\(s\\)'"), ("mem", "free -g | head -2"),
                 ("missing_libs", f"ldd {BIN}/cohost | grep 'not found' || true"),
                 ("drop_caches_writable", "test -w /proc/sys/vm/drop_caches && echo yes || echo no"),
                 ("mps", "command -v nvidia-cuda-mps-control || echo none"),
                 ("nvml", "ldconfig -p | grep -m1 libnvidia-ml || ls /usr/lib/x86_64-linux-gnu/libnvidia-ml* 2>/dev/null | head -1")]:
        r[k] = run(c, check=False).stdout.strip()
        log(k, r[k])


@section("devices")
def devices(r):
    t = time.time()
    p = run(cohost("devices", "--output", "json"), timeout=60)
    r["seconds"] = round(time.time() - t, 2)
    r["devices"] = json.loads(p.stdout)
    log(json.dumps(r["devices"])[:800])


@section("models")
def models(r):
    for path, params, typ in [(TINY, "20M", "f32"), (BIG, "100M" if SMALL else "1B", "f16")]:
        t = time.time()
        if not os.path.exists(path):
            run(cohost("make-model", "--params", params, "--type", typ, "--seed", "42", "--output", path), timeout=240)
        r[os.path.basename(path)] = {"bytes": os.path.getsize(path), "make_s": round(time.time() - t, 1)}
        log(path, r[os.path.basename(path)])


def batched_bench(model, b, p, g):
    c = [BIN + "/llama-batched-bench", "-m", model, "-c", str(b * (p + g)), "-b", "2048", "-ub", "512",
         "-npp", str(p), "-ntg", str(g), "-npl", str(b), "-fa", "auto", "--output-format", "jsonl"]
    if not SMALL:
        c += ["-ngl", "99"]
    out = run(c, timeout=180)
    for line in (out.stdout + out.stderr).splitlines():
        if line.startswith("{") and '"speed_tg"' in line:
            return json.loads(line)["speed_tg"]
    raise RuntimeError("no speed_tg in batched-bench output")


def stream_load(port, clients, p, g):
    st0 = req(port, "GET", "/stats")[1]
    out = run([BIN + "/stream_load", "--address", f"127.0.0.1:{port}", "--clients", str(clients),
               "--prompt-tokens", str(p), "--max-tokens", str(g), "--json"], timeout=240, check=False)
    st1 = req(port, "GET", "/stats")[1]
    j = json.loads(out.stdout)
    steps = st1["decode_steps"] - st0["decode_steps"]
    host_ms = (st1["step_us"] - st0["step_us"] - (st1["decode_us"] - st0["decode_us"])) / 1000 / max(1, steps)
    decode_ms = (st1["decode_us"] - st0["decode_us"]) / 1000 / max(1, steps)
    return {"tps": j["decode_tokens_per_s"], "steady": j["steady_decode_tokens_per_s"],
            "ttft_p50": j["ttft_ms"]["p50"], "itl_p50": j["itl_ms"]["p50"], "itl_p99": j["itl_ms"]["p99"],
            "errors": j["errors"], "steps": steps, "host_ms_per_step": round(host_ms, 3),
            "decode_ms_per_step": round(decode_ms, 3)}


def start_runner(model, slots, ctx, extra=(), name="runner"):
    port = free_port()
    # RUNNER_EXTRA: more runner flags for every throughput runner (e.g. "--load-mode mmap").
    more = os.environ.get("RUNNER_EXTRA", "").split()
    p = spawn(cohost("runner", "--model", model, "--host", "127.0.0.1", "--port", str(port), "--parallel", str(slots),
                     "--context", str(ctx), "--batch", "2048", "--ubatch", "512", "--flash-attn", "auto", *more, *extra), name)
    wait_http(port, "/healthz", p)
    return port, p


@section("throughput")
def throughput(r):
    p_tok, g_tok = (64, 32) if SMALL else (128, 256)
    sizes = [1, 4] if SMALL else [1, 16, 64]
    slots = max(sizes)
    port, runner = start_runner(BIG, slots, p_tok + g_tok)
    rows = []
    try:
        for b in sizes:
            row = {"B": b, "bb_tps": batched_bench(BIG, b, p_tok, g_tok), "runner": stream_load(port, b, p_tok, g_tok)}
            row["ratio"] = round(row["runner"]["tps"] / row["bb_tps"], 3)
            rows.append(row)
            log(f"B={b}: bb {row['bb_tps']:.0f} runner {row['runner']['tps']:.0f} ratio {row['ratio']} "
                f"steady {row['runner']['steady']:.0f} itl p50 {row['runner']['itl_p50']} ms (bb step {1000 * b / row['bb_tps']:.2f} ms) "
                f"host/step {row['runner']['host_ms_per_step']} ms decode/step {row['runner']['decode_ms_per_step']} ms")
            r["rows"] = rows
            save()
    finally:
        stop(runner)
    # Other sampling paths at the largest size: llama.cpp's backend sampling, and host sampling
    # on the inference thread alone (no sampling pool).
    b = max(sizes)
    for key, extra in [("backend_sampling", ["--backend-sampling"]), ("one_sampling_thread", ["--sampling-threads", "0"])]:
        port, runner = start_runner(BIG, slots, p_tok + g_tok, extra, "runner-" + key)
        try:
            h = stream_load(port, b, p_tok, g_tok)
            bb = batched_bench(BIG, b, p_tok, g_tok)
            r[key] = {"B": b, "bb_tps": bb, "runner": h, "ratio": round(h["tps"] / bb, 3)}
            log(f"{key} B={b}: bb {bb:.0f} runner {h['tps']:.0f} ratio {h['tps'] / bb:.3f} "
                f"host/step {h['host_ms_per_step']} ms itl p50 {h['itl_p50']}")
        finally:
            stop(runner)


def first_token(mode, model, extra=()):
    port = free_port()
    t0 = time.time()
    p = spawn(cohost("runner", "--model", model, "--host", "127.0.0.1", "--port", str(port), "--parallel", "1",
                     "--context", "512", "--load-mode", mode, *extra), "loader")
    try:
        wait_http(port, "/healthz", p, 240)
        st, body = req(port, "POST", "/v1/completions", {"prompt": "Hello", "max_tokens": 1, "temperature": 0})
        t = time.time() - t0
        if st != 200:
            raise RuntimeError(f"completion {st}: {body}")
    finally:
        stop(p)
    loaded = log_fields(f"{LOGS}/loader.log", "model loaded")
    ready = log_fields(f"{LOGS}/loader.log", "msg=ready")
    return {"ttft_s": round(t, 3), "data_s": loaded.get("data_s"), "staging": loaded.get("staging"),
            "mode": loaded.get("mode", mode), "phases": {k: ready.get(k) for k in
                                                        ("before_main_s", "init_s", "fit_s", "load_s", "context_s", "main_to_ready_s")}}


def drop_caches():
    try:
        run("sync; echo 3 > /proc/sys/vm/drop_caches", timeout=60)
        return True
    except Exception:
        return False


@section("loader")
def loader(r):
    t = time.time()
    if not os.path.exists(LOADM):
        run(cohost("make-model", "--params", "100M" if SMALL else "8B", "--type", "q8_0", "--seed", "42", "--output", LOADM), timeout=300)
    r["make_s"] = round(time.time() - t, 1)
    size = os.path.getsize(LOADM)
    r["bytes"] = size
    run(f"cat {LOADM} > /dev/null", timeout=120)
    r["read_bound"] = run([BIN + "/read_bound", LOADM, "--threads", "4"], timeout=120, check=False).stdout.strip()
    cb = run([BIN + "/copy_bound", "--mib", "256" if SMALL else "2048"], timeout=120, check=False)
    try:
        r["copy_bound"] = json.loads(cb.stdout)
    except Exception:
        r["copy_bound"] = cb.stdout[-500:] + cb.stderr[-500:]
    log("bounds", r["read_bound"], r["copy_bound"])
    runs = [("stream", ()), ("stream", ("--load-staging", "pinned")), ("stream", ("--load-staging", "pageable")),
            ("mmap", ()), ("read", ()), ("auto", ()), ("stream", ())]
    r["runs"] = []
    for mode, extra in runs:
        try:
            x = first_token(mode, LOADM, extra)
        except Exception as e:
            x = {"error": f"{type(e).__name__}: {e}", "log_tail": open(f"{LOGS}/loader.log", errors="replace").read()[-1500:]}
            R["stream_failed"] = R.get("stream_failed", False) or mode in ("stream", "auto")
        x["args"] = [mode, *extra]
        if x.get("data_s"):
            x["data_gbs"] = round(size / x["data_s"] / 1e9, 2)
        r["runs"].append(x)
        log(mode, extra, x)
        save()
    if not SMALL and drop_caches():
        r["stream_cold"] = first_token("stream", LOADM)
        drop_caches()
        r["mmap_cold"] = first_token("mmap", LOADM)
        log("cold stream", r["stream_cold"], "cold mmap", r["mmap_cold"])


def wait_ready(port, name, want, deadline_s=240):
    end = time.time() + deadline_s
    c = {}
    while time.time() < end:
        st, c = req(port, "GET", f"/v1/inference-components/{name}")
        if st == 200 and c.get("status", {}).get("ready_copies") == want:
            return c
        time.sleep(0.1)
    raise RuntimeError(f"{name} not at {want} ready copies: {json.dumps(c)[:1500]}")


def wait_zero(port, name, deadline_s=40):
    end = time.time() + deadline_s
    while time.time() < end:
        st, c = req(port, "GET", f"/v1/inference-components/{name}")
        if c.get("status", {}).get("desired_copies") == 0 and not c["status"].get("copies"):
            return True
        time.sleep(0.1)
    return False


def smi():
    return run("nvidia-smi --query-gpu=memory.used,memory.total --format=csv,noheader; "
               "nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader", check=False).stdout


@section("serve")
def serve(r):
    port = free_port()
    data = "/tmp/gpu-check-serve"
    shutil.rmtree(data, ignore_errors=True)
    srv = spawn(cohost("serve", "--port", str(port), "--data-dir", data, "--no-demo"), "serve")
    try:
        wait_http(port, "/v1/endpoints", srv, 90)
        r["smi_serve_only"] = smi()
        r["devices_empty"] = req(port, "GET", "/v1/devices")[1]
        log("devices", json.dumps(r["devices_empty"])[:900], r["smi_serve_only"])
        req(port, "POST", "/v1/endpoints", {"name": "main", "kind": "shared"})
        # Should streaming have failed in the loader section, the components load by mmap so the
        # rest of this section still measures something.
        startup_extra = {"load_mode": "mmap"} if R.get("stream_failed") else {}
        r["load_mode"] = startup_extra.get("load_mode", "auto")
        specs = [
            {"name": "big", "endpoint": "main", "model": {"uri": BIG}, "compute": {"accelerators": 0.25, "cpu_cores": 0.5},
             "startup": {"context_length": 2048, "parallel": 8, **startup_extra}, "copies": {"initial": 2, "min": 2, "max": 4},
             "scaling": {"target": 2, "scale_out_cooldown_s": 1, "scale_in_cooldown_s": 120}},
            {"name": "tiny", "endpoint": "main", "model": {"uri": TINY}, "compute": {"accelerators": 0.125, "cpu_cores": 0.25},
             "startup": {"context_length": 1024, "parallel": 4, **startup_extra}, "copies": {"initial": 1, "min": 1, "max": 2}},
            {"name": "lazy", "endpoint": "main", "model": {"uri": BIG}, "compute": {"accelerators": 0.25, "cpu_cores": 0.5},
             # A component that scales from zero streams its weights: the start matters most.
             "startup": {"context_length": 2048, "parallel": 4, "load_mode": "stream", **startup_extra},
             "copies": {"initial": 1, "min": 0, "max": 2},
             "scaling": {"scale_to_zero_after_s": 3}},
        ]
        t = time.time()
        for s in specs:
            st, b = req(port, "POST", "/v1/inference-components", s)
            r.setdefault("create", []).append([s["name"], st, b if st >= 300 else ""])
        for name, want in [("big", 2), ("tiny", 1), ("lazy", 1)]:
            r[name] = wait_ready(port, name, want)
        r["ready_s"] = round(time.time() - t, 2)
        time.sleep(1.5)  # let the supervisors read each copy's real use once
        r["devices_placed"] = req(port, "GET", "/v1/devices")[1]
        r["smi_placed"] = smi()
        log("placed", json.dumps(r["devices_placed"])[:1500], r["smi_placed"])
        # Cold starts of lazy from zero.
        colds = []
        for _ in range(int(os.environ.get("COLD_REPEAT", "2"))):
            if not wait_zero(port, "lazy"):
                break
            t1 = time.time()
            st, b = req(port, "POST", "/v1/completions", {"model": "lazy", "prompt": "Hi", "max_tokens": 1})
            colds.append({"status": st, "seconds": round(time.time() - t1, 3)})
            log("cold", colds[-1])
        r["cold"] = colds
        r["cold_events"] = req(port, "GET", "/v1/events?limit=40")[1]
        # Part 4: a burst scales big into the room lazy freed; the next lazy request must not wait for big's cooldown.
        if os.environ.get("SKIP_BURST") != "1" and wait_zero(port, "lazy"):
            def chat(i):
                return req(port, "POST", "/v1/chat/completions",
                           {"model": "big", "messages": [{"role": "user", "content": f"hello {i}"}], "max_tokens": 48})[0]
            with cf.ThreadPoolExecutor(32) as ex:
                sts = list(ex.map(chat, range(32)))
            r["burst"] = {"ok": sts.count(200), "big_copies_after": req(port, "GET", "/v1/inference-components/big")[1].get("status", {}).get("desired_copies")}
            t1 = time.time()
            st, b = req(port, "POST", "/v1/completions", {"model": "lazy", "prompt": "Hi", "max_tokens": 1}, timeout=90)
            r["lazy_after_burst"] = {"status": st, "seconds": round(time.time() - t1, 2)}
            log("burst", r["burst"], "lazy after burst", r["lazy_after_burst"])
        r["devices_end"] = req(port, "GET", "/v1/devices")[1]
        r["smi_end"] = smi()
        st, m = req(port, "GET", "/metrics")
        r["metrics_memory"] = [l for l in str(m).splitlines() if ("memory" in l or "overhead" in l) and not l.startswith("#")][:60]
        r["events"] = req(port, "GET", "/v1/events?limit=120")[1]
    finally:
        stop(srv)
        run(f"cp {LOGS}/serve.log {OUT}/serve.log", check=False)


@section("mps")
def mps(r):
    started = run("nvidia-cuda-mps-control -d", check=False, timeout=20)
    r["mps_start"] = [started.returncode, started.stderr[-300:]]
    port = free_port()
    data = "/tmp/gpu-check-mps"
    shutil.rmtree(data, ignore_errors=True)
    srv = spawn(cohost("serve", "--port", str(port), "--data-dir", data, "--no-demo", "--mps", "auto"), "serve-mps")
    try:
        wait_http(port, "/v1/endpoints", srv, 90)
        req(port, "POST", "/v1/endpoints", {"name": "main", "kind": "shared"})
        for name, share in [("quarter", 0.25), ("most", 0.75)]:
            req(port, "POST", "/v1/inference-components",
                {"name": name, "endpoint": "main", "model": {"uri": BIG}, "compute": {"accelerators": share, "cpu_cores": 1},
                 "startup": {"context_length": 512, "parallel": 16}, "copies": {"initial": 1, "min": 1, "max": 1}})
        for name in ("quarter", "most"):
            wait_ready(port, name, 1)
        r["devices"] = req(port, "GET", "/v1/devices")[1]
        def burst(name):
            def one(i):
                t = time.time()
                st, b = req(port, "POST", "/v1/completions", {"model": name, "prompt": "Hello " * 32, "max_tokens": 128,
                                                              "ignore_eos": True, "temperature": 0})
                return (b.get("usage", {}).get("completion_tokens", 0) if isinstance(b, dict) else 0), time.time() - t
            t0 = time.time()
            with cf.ThreadPoolExecutor(16) as ex:
                res = list(ex.map(one, range(16)))
            return round(sum(n for n, _ in res) / (time.time() - t0), 1)
        r["tps_most"] = burst("most")
        r["tps_quarter"] = burst("quarter")
        r["events"] = req(port, "GET", "/v1/events?limit=40")[1]
        log("mps: 16 streams on the 0.75 share", r["tps_most"], "tok/s, on the 0.25 share", r["tps_quarter"], json.dumps(r["devices"])[:800])
    finally:
        stop(srv)
        q = run("echo quit | nvidia-cuda-mps-control", check=False, timeout=20)
        r["mps_quit"] = q.returncode


@section("profile")
def profile(r):
    out = run(cohost("profile", BIG, "--context", "2048", "--prompt-tokens", "128", "--output-tokens", "64",
                     "--slo-ttft-ms", "300", "--slo-itl-ms", "30", "--rate", "20", "--max-concurrency", "8",
                     "--output", "json"), timeout=150, check=False)
    try:
        r["result"] = json.loads(out.stdout)
    except Exception:
        r["raw"] = out.stdout[-3000:] + out.stderr[-2000:]
    log(out.stdout[:1500], out.stderr[-600:])


if __name__ == "__main__":
    for s in [env, devices, models, throughput, loader, serve, mps, profile]:
        s()
    R["total_s"] = round(time.time() - T0, 1)
    save()
    log("all done", R["total_s"])
