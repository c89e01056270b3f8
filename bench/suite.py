#!/usr/bin/env python3
"""bench/suite.py — runs coreio's benchmark programs and reports them.

    python3 bench/suite.py demo   [--build DIR]   the ~1 minute headline
    python3 bench/suite.py full   [--build DIR]   everything (make bench)
    python3 bench/suite.py report [--results DIR] redo latest.md, the charts
                                                  and the README section

The measuring is done by the C programs in bench/ (each prints JSON lines,
DESIGN.md section 8, with --json). Each runs its systems side by side,
alternating them, and reports medians and per-run ratios; this script only
runs them one after the other, collects their rows with the machine's
description, and renders:

  bench/results/latest.json  every row, with machine, kernel, ring flags,
                             git revision, each program's command line
  bench/results/latest.md    a table per scenario, ratios with targets
  bench/results/<bench>.png  a chart per scenario (gnuplot)
  README.md                  the part between the bench:begin/end markers

A scenario that fails is reported as failed (its stderr is shown) and the
others still run; the exit status is then 1.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What each program runs in the full suite, with the time it takes on the
# 2-CPU reference machine (shown while it runs; bench/README.md sums them).
FULL = [
    ("echo", ["--runs", "3", "--duration", "2", "--conns",
              "1,16,64,256,512", "--sizes", "64,4096"], 330),
    ("http", ["--runs", "5", "--duration", "3", "--warmup", "1",
              "--connections", "16,64,256"], 330),
    ("copy", [], 150),
    # The clients' files on tmpfs (what the clients cost), then on the
    # disk the build is on (what a user waits for).
    ("download", ["--concurrency", "20,100"], 60),
    ("download", ["--concurrency", "20,100", "--outdir", "{build}"], 90),
    ("fileio", [], 120),
    ("micro", [], 60),
    ("sync", [], 30),
    ("shard", [], 30),
    ("chan", [], 30),
]

# The demo: the headline comparisons, short runs, about a minute in all.
DEMO = [
    ("echo", ["--runs", "3", "--duration", "1", "--warmup", "0.2",
              "--conns", "64", "--sizes", "64",
              "--systems", "uring,epoll,baseline"], 15),
    ("http", ["--runs", "3", "--duration", "1", "--warmup", "0",
              "--connections", "64", "--systems", "uring,epoll,baseline"],
     15),
    ("copy", ["--demo"], 40),
    ("micro", ["--only", "switch", "--reps", "5"], 3),
]

# Per program: the metric its charts and main tables show, and which way
# is better. Other metrics are listed below the main table.
HEADLINE = {
    "echo": ("req_per_s", "requests/s", True),
    "http": ("requests_per_sec", "requests/s", True),
    "copy": ("seconds", "seconds (cold cache)", False),
    "download": ("seconds", "seconds", False),
    "fileio": ("mb_per_s", "MB/s", True),
}

RATIO_UNITS = ("ratio", "x")


# -- running ---------------------------------------------------------------

def sh(cmd):
    """A command's output, or '' if it cannot run."""
    try:
        return subprocess.run(cmd, shell=True, capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' "
             "/proc/meminfo")
    rev = sh(f"git -C '{ROOT}' rev-parse --short=12 HEAD")
    if rev and sh(f"git -C '{ROOT}' status --porcelain --untracked-files=no"):
        rev += "-dirty"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": rev or "unknown",
        "cpu": cpu,
        "cpus_online": os.cpu_count(),
        "cpus_allowed": len(os.sched_getaffinity(0)),
        "memory": mem,
        "kernel": platform.release(),
        "virtualization": sh("systemd-detect-virt 2>/dev/null") or "unknown",
        "os": sh(". /etc/os-release 2>/dev/null && echo $PRETTY_NAME"),
        "compiler": sh("cc --version | head -1"),
        "liburing": sh("dpkg-query -W -f='${Version}' liburing-dev"),
        "peers": {
            "nginx": sh("nginx -v 2>&1 | sed 's/.*nginx\\///'"),
            "wrk": sh("dpkg-query -W -f='${Version}' wrk"),
            "libuv": sh("dpkg-query -W -f='${Version}' libuv1-dev"),
            "fio": sh("fio --version"),
            "aria2": sh("dpkg-query -W -f='${Version}' aria2"),
            "curl": sh("dpkg-query -W -f='${Version}' curl"),
            "coreutils": sh("dpkg-query -W -f='${Version}' coreutils"),
        },
    }


def run_one(build, name, args, est, verbose):
    prog = os.path.join(build, "bench", name)
    args = [a.replace("{build}", build) for a in args]
    argv = [prog, "--json"] + args
    shown = " ".join(["bench/" + name] + args)
    print(f"-- {shown}  (about {fmt_duration(est)})", file=sys.stderr,
          flush=True)
    if not os.access(prog, os.X_OK):
        print(f"   {prog} is missing: run make first", file=sys.stderr)
        return {"name": name, "command": shown, "status": 127,
                "seconds": 0}, []
    t0 = time.monotonic()
    # stdout is the JSON; stderr (notes, progress) goes to the terminal.
    p = subprocess.run(argv, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                       timeout=max(600, est * 4))
    took = time.monotonic() - t0
    rows = []
    for line in p.stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            print(f"   {name}: not JSON: {line[:100]}", file=sys.stderr)
    if p.returncode != 0:
        print(f"   {name} FAILED with status {p.returncode}",
              file=sys.stderr)
    elif verbose:
        print(f"   done in {took:.0f} s, {len(rows)} rows", file=sys.stderr)
    return {"name": name, "command": shown, "status": p.returncode,
            "seconds": round(took, 1)}, rows


def run_all(build, plan, verbose=True):
    meta = machine()
    scenarios, rows = [], []
    t0 = time.monotonic()
    for name, args, est in plan:
        sc, r = run_one(build, name, args, est, verbose)
        scenarios.append(sc)
        rows += r
    meta["seconds"] = round(time.monotonic() - t0, 1)
    # The ring flags coreio ran with, as the programs report them.
    for r in rows:
        if r.get("metric") == "backend_flags" and "ring_flags" not in meta:
            meta["ring_flags"] = r["value"]
    return {"meta": meta, "scenarios": scenarios, "rows": rows}


# -- formatting ------------------------------------------------------------

def fmt_duration(s):
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.0f} min"


def fmt(v, unit=""):
    if isinstance(v, str):
        return v
    if unit in RATIO_UNITS:
        return f"{v:.2f}×"
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.2f} M"
    if a >= 1e4:
        return f"{v / 1e3:.1f} k"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if a < 1 else f"{v:.2f}"


def is_ratio(r):
    return r.get("unit") in RATIO_UNITS


def numeric(r):
    return isinstance(r.get("value"), (int, float))


def ordered(items):
    seen = []
    for i in items:
        if i not in seen:
            seen.append(i)
    return seen


def by_bench(rows):
    out = {}
    for r in rows:
        out.setdefault(r["bench"], []).append(r)
    return out


def md_table(head, body):
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---" for _ in head) + "|"]
    for b in body:
        lines.append("| " + " | ".join(str(c) for c in b) + " |")
    return "\n".join(lines)


def verdict(r, md=True):
    if "target" not in r:
        return ""
    if r.get("met"):
        return "met"
    return "**MISSED**" if md else "MISSED"


def target_rows(rows):
    return [r for r in rows if "target" in r]


# -- the markdown report ---------------------------------------------------

def wide_table(rows, metric):
    """case x system for one metric (not ratios)."""
    sel = [r for r in rows if r["metric"] == metric and numeric(r)
           and not is_ratio(r) and r["case"] != "env"]
    if not sel:
        return None, [], []
    cases = ordered(r["case"] for r in sel)
    systems = ordered(r["system"] for r in sel)
    val = {(r["case"], r["system"]): r for r in sel}
    body = []
    for c in cases:
        line = [c]
        for s in systems:
            r = val.get((c, s))
            line.append(fmt(r["value"], r["unit"]) if r else "")
        body.append(line)
    unit = sel[0]["unit"]
    return md_table(["case"] + [f"{s} ({unit})" for s in systems],
                    body), cases, systems


def ratio_table(rows):
    sel = [r for r in rows if is_ratio(r) and numeric(r)]
    if not sel:
        return None
    body = []
    for r in sel:
        spread = ""
        if "min" in r:
            spread = f"{fmt(r['min'], r['unit'])} … {fmt(r['max'], r['unit'])}"
        body.append([r["case"], r["system"], r["metric"],
                     fmt(r["value"], r["unit"]), spread,
                     r.get("target", ""), verdict(r)])
    return md_table(["case", "ratio", "metric", "median", "runs' range",
                     "target", ""], body)


def other_table(rows, skip_metric):
    sel = [r for r in rows if numeric(r) and not is_ratio(r)
           and r["metric"] != skip_metric and r["case"] != "env"]
    if not sel:
        return None
    body = [[r["case"], r["system"], r["metric"], fmt(r["value"], r["unit"]),
             r["unit"], r.get("target", ""), verdict(r)] for r in sel]
    return md_table(["case", "system", "metric", "median", "unit", "target",
                     ""], body)


def env_lines(rows):
    return [f"- {r['system']} {r['metric']}: {r['value']}" for r in rows
            if r.get("unit") == "text"]


def render_md(doc):
    m, rows = doc["meta"], doc["rows"]
    out = ["# coreio benchmarks: latest results", "",
           f"Run {m['date']} at git `{m['git']}`, "
           f"{fmt_duration(m.get('seconds', 0))} in all, with "
           "`make bench` (bench/suite.py full). Method: bench/README.md.", "",
           f"- machine: {m['cpu']}, {m['cpus_online']} CPUs online "
           f"({m['cpus_allowed']} allowed), {m['memory']}, "
           f"virtualization: {m['virtualization']}",
           f"- kernel {m['kernel']}, {m['os']}, liburing {m['liburing']}, "
           f"{m['compiler']}",
           f"- io_uring ring flags: {m.get('ring_flags', 'n/a')}",
           "- peers: " + ", ".join(f"{k} {v}" for k, v in
                                   m["peers"].items() if v), ""]
    failed = [s for s in doc["scenarios"] if s["status"] != 0]
    if failed:
        out += ["**Failed scenarios:** " + ", ".join(
            f"{s['name']} (status {s['status']})" for s in failed), ""]
    tr = target_rows(rows)
    if tr:
        out += ["## Targets", "",
                md_table(["scenario", "case", "what", "median", "target",
                          ""],
                         [[r["bench"], r["case"],
                           f"{r['system']} {r['metric']}",
                           fmt(r["value"], r["unit"]), r["target"],
                           verdict(r)] for r in tr]), ""]
    out += ["## Scenarios", ""]
    for s in doc["scenarios"]:
        out.append(f"- {s['name']}: `{s['command']}`, {s['seconds']} s"
                   + ("" if s["status"] == 0 else
                      f", **failed (status {s['status']})**"))
    out.append("")
    for bench, br in by_bench(rows).items():
        out += [f"## {bench}", ""]
        metric = HEADLINE.get(bench, (None,))[0]
        if os.path.exists(os.path.join(doc["_dir"], f"{bench}.png")):
            out += [f"![{bench}]({bench}.png)", ""]
        if metric:
            t, _, _ = wide_table(br, metric)
            if t:
                out += [t, ""]
        rt = ratio_table(br)
        if rt:
            out += ["Ratios (medians of the per-run ratios):", "", rt, ""]
        ot = other_table(br, metric)
        if ot and metric:
            out += ["<details><summary>all measurements</summary>", "",
                    ot, "", "</details>", ""]
        elif ot:
            out += [ot, ""]
        env = env_lines(br)
        if env:
            out += ["Setup:", ""] + env + [""]
    return "\n".join(out) + "\n"


# -- charts ----------------------------------------------------------------

def chart(doc, bench, rows, outdir):
    """A clustered bar chart of the headline metric, case x system; for the
    micro-benchmarks, one bar per (case, system) of their ns figures."""
    gp = shutil.which("gnuplot")
    if not gp:
        return False
    if bench in HEADLINE:
        metric, label, higher = HEADLINE[bench]
        sel = [r for r in rows if r["metric"] == metric and numeric(r)
               and not is_ratio(r)]
        ylabel = label + (", higher is better" if higher
                          else ", lower is better")
    else:
        sel = [r for r in rows if numeric(r) and r.get("unit") == "ns"]
        ylabel = "ns per operation (log scale), lower is better"
    if not sel:
        return False
    if bench not in HEADLINE:
        # Micro-benchmarks: each case has its own systems; one bar each.
        sel = [dict(r, case=f"{r['case']} ({r['system']})", system=
                    r["metric"].replace("_", " ")) for r in sel]
        for r in sel:
            r["system"] = "ns per operation"
    cases = ordered(r["case"] for r in sel)
    systems = ordered(r["system"] for r in sel)
    val = {(r["case"], r["system"]): r["value"] for r in sel}
    data = os.path.join(outdir, f".{bench}.dat")
    with open(data, "w") as f:
        f.write("case " + " ".join(f'"{s}"' for s in systems) + "\n")
        for c in cases:
            f.write(f'"{c}" ' + " ".join(
                str(val[(c, s)]) if (c, s) in val else "-"
                for s in systems) + "\n")
    png = os.path.join(outdir, f"{bench}.png")
    logscale = "set logscale y\n" if bench not in HEADLINE else ""
    script = f"""
set terminal pngcairo size 1000,520 noenhanced font ",10"
set output "{png}"
set title "coreio {bench}: {ylabel} ({doc['meta']['git']})"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set rmargin 12
set datafile missing "-"
set key top left outside horizontal
set grid ytics
set yrange [0:*]
{logscale}set xtics rotate by -30 left
set ylabel "{ylabel}"
plot for [i=2:{len(systems) + 1}] "{data}" using i:xtic(1) title columnhead
"""
    if logscale:
        script = script.replace("set yrange [0:*]", "set yrange [*:*]")
    p = subprocess.run([gp], input=script, text=True, capture_output=True)
    os.unlink(data)
    if p.returncode != 0:
        print(f"gnuplot failed for {bench}: {p.stderr}", file=sys.stderr)
        return False
    return True


# -- README ----------------------------------------------------------------

def readme_section(doc):
    m, rows = doc["meta"], doc["rows"]
    tr = target_rows(rows)
    lines = [
        f"Latest full run: {m['date']}, git `{m['git']}`, {m['cpu']}, "
        f"{m['cpus_online']} CPUs, kernel {m['kernel']} "
        f"([all results](bench/results/latest.md), "
        f"[JSON](bench/results/latest.json)).", "",
        md_table(["scenario", "case", "what", "median", "target", ""],
                 [[r["bench"], r["case"], f"{r['system']} {r['metric']}",
                   fmt(r["value"], r["unit"]), r["target"], verdict(r)]
                  for r in tr]), ""]
    for b in by_bench(rows):
        if os.path.exists(os.path.join(doc["_dir"], f"{b}.png")):
            lines.append(f"![{b}](bench/results/{b}.png)")
    return "\n".join(lines) + "\n"


def update_readme(doc):
    path = os.path.join(ROOT, "README.md")
    with open(path) as f:
        text = f.read()
    begin, end = "<!-- bench:begin -->\n", "<!-- bench:end -->"
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        print("README.md has no bench:begin/end markers; left alone",
              file=sys.stderr)
        return
    text = text[:i + len(begin)] + readme_section(doc) + text[j:]
    with open(path, "w") as f:
        f.write(text)


def render_all(doc, outdir, readme):
    doc["_dir"] = outdir
    for bench, br in by_bench(doc["rows"]).items():
        chart(doc, bench, br, outdir)
    with open(os.path.join(outdir, "latest.md"), "w") as f:
        f.write(render_md(doc))
    if readme:
        update_readme(doc)
    del doc["_dir"]


# -- the demo's table ------------------------------------------------------

def find(rows, bench, case, system, metric):
    for r in rows:
        if (r["bench"], r["case"], r["system"], r["metric"]) == \
                (bench, case, system, metric) and numeric(r):
            return r
    return None


def demo_table(doc):
    rows = doc["rows"]
    w = "{:<30} {:>10} {:>10} {:>10} {:>10} {:>10}  {}"
    out = []

    def cell(bench, case, system, metric, digits=None):
        r = find(rows, bench, case, system, metric)
        if not r:
            return "n/a"
        return f"{r['value']:.{digits}f}" if digits is not None \
            else fmt(r["value"], r["unit"])

    def target(bench, case, system, metric):
        r = find(rows, bench, case, system, metric)
        if not r or "target" not in r:
            return ""
        return f"{system} {r['target']}: {verdict(r, False)}"

    out.append(w.format("", "coreio", "coreio", "baseline", "io_uring/",
                        "io_uring/", ""))
    out.append(w.format("network (loopback)", "io_uring", "epoll",
                        "epoll loop", "epoll", "baseline", "target"))
    for label, bench, case, metric, ratio, cpu in (
            ("echo 64 conns x 64 B, req/s", "echo", "64conn_64B",
             "req_per_s", "req_per_s", "server_cpu_us_per_req"),
            ("HTTP wrk -c 64, req/s", "http", "c64", "requests_per_sec",
             "rps_ratio", "server_cpu_per_req")):
        out.append(w.format(
            label, *(cell(bench, case, s, metric)
                     for s in ("uring", "epoll", "baseline")),
            *(cell(bench, case, s, ratio)
              for s in ("uring/epoll", "uring/baseline")),
            target(bench, case, "uring/epoll", ratio)))
        out.append(w.format(
            "  server CPU per request, us",
            *(cell(bench, case, s, cpu, 2)
              for s in ("uring", "epoll", "baseline")), "", "", ""))
    copies = ordered(r["case"] for r in rows if r["bench"] == "copy"
                     and r["case"] != "env" and r["metric"] == "seconds")
    if copies:
        out.append("")
        out.append(w.format("file copy, cold cache", "coreio-cp",
                            "coreio-cp", "cp", "io_uring/", "", ""))
        out.append(w.format("", "io_uring", "epoll", "", "cp", "",
                            "target"))
        for case in copies:
            out.append(w.format(
                f"{case}, s",
                *(cell("copy", case, s, "seconds", 3)
                  for s in ("coreio-uring", "coreio-epoll", "cp")),
                cell("copy", case, "coreio-uring/cp", "speedup"), "",
                target("copy", case, "coreio-uring/cp", "speedup")))
    r = find(rows, "micro", "context_switch", "coreio",
             "ratio_vs_swapcontext")
    if r:
        out.append("")
        out.append(w.format(
            "context switch, ns",
            cell("micro", "context_switch", "coreio", "ns_per_switch", 2),
            "", "", "", "",
            f"{fmt(r['value'], 'x')} faster than glibc swapcontext ("
            f"{cell('micro', 'context_switch', 'glibc-swapcontext', 'ns_per_switch', 0)}"
            f" ns); target {r['target']}: {verdict(r, False)}"))
    failed = [s["name"] for s in doc["scenarios"] if s["status"] != 0]
    if failed:
        out.append("\nFAILED: " + ", ".join(failed) + " (see above)")
    return "\n".join(out)


# -- main ------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["demo", "full", "report"])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="where make put the programs (default build/)")
    ap.add_argument("--results", default=os.path.join(ROOT, "bench",
                                                      "results"),
                    help="where results go (default bench/results/)")
    ap.add_argument("--only", help="full: comma-separated programs")
    ap.add_argument("--no-readme", action="store_true",
                    help="full/report: leave README.md alone")
    a = ap.parse_args()
    build = os.path.abspath(a.build)

    if a.what == "report":
        with open(os.path.join(a.results, "latest.json")) as f:
            doc = json.load(f)
        render_all(doc, a.results, not a.no_readme)
        return 0

    if a.what == "demo":
        total = sum(e for _, _, e in DEMO)
        print(f"coreio demo: io_uring vs epoll vs a hand-written epoll "
              f"server, and a file copy vs cp (about "
              f"{fmt_duration(total)})", file=sys.stderr, flush=True)
        doc = run_all(build, DEMO, verbose=False)
        outdir = os.path.join(build, "demo")
        os.makedirs(outdir, exist_ok=True)
        with open(os.path.join(outdir, "demo.json"), "w") as f:
            json.dump(doc, f, indent=1)
        print()
        print(demo_table(doc))
        print(f"\n{doc['meta']['cpus_online']} CPUs, kernel "
              f"{doc['meta']['kernel']}, git {doc['meta']['git']}; medians "
              f"of short runs (the full suite: make bench). Rows: "
              f"{os.path.relpath(outdir, ROOT)}/demo.json")
        return 0 if all(s["status"] == 0 for s in doc["scenarios"]) else 1

    plan = FULL
    if a.only:
        want = a.only.split(",")
        bad = [w for w in want if w not in [p[0] for p in FULL]]
        if bad:
            ap.error(f"--only: unknown program(s) {','.join(bad)}")
        plan = [p for p in FULL if p[0] in want]
    total = sum(e for _, _, e in plan)
    print(f"coreio benchmark suite: {len(plan)} programs, about "
          f"{fmt_duration(total)}", file=sys.stderr)
    doc = run_all(build, plan)
    os.makedirs(a.results, exist_ok=True)
    with open(os.path.join(a.results, "latest.json"), "w") as f:
        json.dump(doc, f, indent=1)
    render_all(doc, a.results, not a.no_readme and not a.only)
    print(f"results: {os.path.relpath(a.results, ROOT)}/latest.md, "
          f"latest.json and the charts ({fmt_duration(doc['meta']['seconds'])})",
          file=sys.stderr)
    with open(os.path.join(a.results, "latest.md")) as f:
        md = f.read()
    i = md.find("## Targets")
    if i >= 0:
        print(md[i:md.find("## Scenarios")])
    return 0 if all(s["status"] == 0 for s in doc["scenarios"]) else 1


if __name__ == "__main__":
    sys.exit(main())
