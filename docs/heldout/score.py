#!/usr/bin/env python3
"""Score held-out runs: capped regret, frontier regret, empty levels (the benchmark page's definition).

  score.py run  OUT.json  RUN.jsonl...      score each run (a `carbs export --format jsonl` file, or the anchors'
                                            files in the same shape) -> OUT.json (a list of per-run figures)
  score.py report RESULTS.md DIR...         each DIR holds <mode>.json files written by `score.py run`
                                            (DIR's basename = the variant name) -> the markdown tables

The answer at a level is the best NOISE-FREE loss (sim_trainer.noise_free_loss of the run's parameters) among
successful observations with cost <= level; capped regret(level) = max(0, min(answer, cap) - optimum(level)),
cap = noise-free loss of the search center; the optimum table comes from optimum.json (sim_trainer).
"""

import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sim_trainer  # noqa: E402

TABLE_PATH = os.path.join(HERE, "optimum.json")
FULL_TABLE_PATH = os.path.join(HERE, "optimum_full.json")
DEAR = 7
CHEAP = 7


def load_table():
    return sim_trainer.optimum_table(TABLE_PATH)


def load_full_table():
    return sim_trainer.optimum_table(FULL_TABLE_PATH, full=True)


def read_observations(path):
    obs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            o = json.loads(line)
            params = {}
            for k, v in o["params"].items():
                if isinstance(v, dict):  # tolerate a tagged encoding
                    v = next(iter(v.values()))
                params[k] = float(v)
            for name, spec in sim_trainer.PARAMS.items():
                if spec[3]:
                    params[name] = int(round(params[name]))
            obs.append({"status": o.get("status", "success"), "params": params, "cost": o.get("cost"),
                        "output": o.get("output")})
    return obs


def score(obs, table):
    cap = table["cap"]
    levels = [r["level"] for r in table["levels"]]
    optima = [r["optimum"] for r in table["levels"]]
    succ = []
    failures = 0
    for o in obs:
        if o["status"] != "success":
            failures += 1
            continue
        nf = sim_trainer.noise_free_loss(o["params"])
        c = sim_trainer.cost_of(o["params"])
        if nf is None:  # cannot happen for a success of this trainer
            failures += 1
            continue
        succ.append((c, nf))
    capped, raw = [], []
    for C, opt in zip(levels, optima):
        vals = [nf for c, nf in succ if c <= C * (1 + 1e-9)]
        ans = min(vals) if vals else math.inf
        capped.append(max(0.0, min(ans, cap) - opt))
        raw.append(ans - opt if vals else None)
    nonempty = [r for r in raw if r is not None]
    return {
        "n": len(obs), "failures": failures,
        "capped": sum(capped) / len(capped),
        "frontier": (sum(nonempty) / len(nonempty)) if nonempty else math.nan,
        "empty": len(raw) - len(nonempty),
        "dear": sum(capped[-DEAR:]) / DEAR,
        "cheap": sum(capped[:CHEAP]) / CHEAP,
        "per_level": capped,
        "best_loss": min(nf for _, nf in succ) if succ else None,
        "max_cost": max(c for c, _ in succ) if succ else None,
    }


def quantile(xs, q):
    xs = sorted(xs)
    if not xs:
        return math.nan
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def median(xs):
    return quantile(xs, 0.5)


def fmt(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 100:
        return f"{x:.0f}"
    if a >= 0.01:
        return f"{x:.3g}" if a < 1 else f"{x:.3f}".rstrip("0").rstrip(".")
    return f"{x:.2e}"


def cmd_run(out, paths):
    table, full = load_table(), load_full_table()
    rows = []
    for p in paths:
        obs = read_observations(p)
        s = score(obs, table)
        f = score(obs, full)
        s["capped_full"], s["empty_full"] = f["capped"], f["empty"]
        s["file"] = p
        rows.append(s)
        print(f"{p}: capped {s['capped']:.4f} frontier {s['frontier']:.4f} empty {s['empty']} "
              f"dear {s['dear']:.4f} cheap {s['cheap']:.4f} n {s['n']} failures {s['failures']}")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(rows, f, indent=1)


def summary(rows):
    cap = [r["capped"] for r in rows]
    return {
        "seeds": len(rows),
        "capped": median(cap), "iqr": quantile(cap, 0.75) - quantile(cap, 0.25),
        "q25": quantile(cap, 0.25), "q75": quantile(cap, 0.75),
        "frontier": median([r["frontier"] for r in rows]),
        "empty": median([r["empty"] for r in rows]),
        "dear": median([r["dear"] for r in rows]),
        "cheap": median([r["cheap"] for r in rows]),
        "failures": median([r["failures"] for r in rows]),
        "capped_full": median([r["capped_full"] for r in rows]),
        "max_cost": median([r["max_cost"] for r in rows]),
        "empty_full": median([r["empty_full"] for r in rows]),
        "per_level": [median([r["per_level"][i] for r in rows]) for i in range(len(rows[0]["per_level"]))],
    }


def cmd_report(out, dirs):
    table = load_table()
    levels = [r["level"] for r in table["levels"]]
    optima = [r["optimum"] for r in table["levels"]]
    entries = []
    for d in dirs:
        variant = os.path.basename(os.path.normpath(d))
        for mode in ("sequential", "parallel-8"):
            p = os.path.join(d, mode + ".json")
            if os.path.exists(p):
                with open(p) as f:
                    rows = json.load(f)
                if rows:
                    entries.append((variant, mode, summary(rows)))
    lines = []
    lines.append("| variant | mode | seeds | capped regret, median (IQR; q25–q75) | frontier regret | empty levels "
                 "| dear end (top 7) | cheap end (bottom 7) | failed runs | capped, full range (empty) | dearest success (PF) |")
    lines.append("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for v, m, s in entries:
        lines.append(f"| {v} | {m} | {s['seeds']} | {fmt(s['capped'])} ({fmt(s['iqr'])}; {fmt(s['q25'])}–"
                     f"{fmt(s['q75'])}) | {fmt(s['frontier'])} | {fmt(s['empty'])} | {fmt(s['dear'])} | "
                     f"{fmt(s['cheap'])} | {fmt(s['failures'])} | {fmt(s['capped_full'])} ({fmt(s['empty_full'])}) | {s['max_cost']:.3g} |")
    lines.append("")
    for mode in ("sequential", "parallel-8"):
        es = [(v, s) for v, m, s in entries if m == mode]
        if not es:
            continue
        lines.append(f"Per-level capped regret, median over seeds — {mode} (level = cost cap in PFLOP):")
        lines.append("")
        lines.append("| # | level | optimum | cap−opt | " + " | ".join(v for v, _ in es) + " |")
        lines.append("|---:|---:|---:|---:|" + "---:|" * len(es))
        for i, (C, opt) in enumerate(zip(levels, optima)):
            lines.append(f"| {i + 1} | {C:.3g} | {opt:.4f} | {fmt(max(0.0, table['cap'] - opt))} | "
                         + " | ".join(fmt(s["per_level"][i]) for _, s in es) + " |")
        lines.append("")
    text = "\n".join(lines)
    with open(out, "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "run":
        cmd_run(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) >= 3 and sys.argv[1] == "report":
        cmd_report(sys.argv[2], sys.argv[3:])
    else:
        print(__doc__)
        sys.exit(64)
