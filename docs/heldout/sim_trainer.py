#!/usr/bin/env python3
"""Simulated LM pre-training run (held-out quality check for CARBS). Standard library only.

One call = one training run. Hyperparameters (7):
  learning_rate    log, unbounded (> 0)                     center 3e-4
  d_model          log, integer, 64 .. 1024                 center 256
  n_layers         linear, integer, 2 .. 16, scale 4        center 4
  batch_size       log, integer, 16 .. 512 (sequences)      center 64
  steps            log, integer, 500 .. 20000               center 2000
  weight_decay     log, unbounded (> 0)                     center 0.01
  warmup_fraction  logit, 0.001 .. 0.5                      center 0.1

Model (noise-free):
  N   = 12 * n_layers * d_model^2              (non-embedding parameters)
  D   = steps * batch_size * SEQ_LEN           (tokens; SEQ_LEN = 512)
  Deff = D * (1 - 0.5 * warmup_fraction)       (warmup tokens are half wasted)
  base = E + A / N^alpha + B / Deff^beta       (Chinchilla fit: E 1.69, A 406.4, B 410.7, alpha .34, beta .28)
  loss = base * p_lr * p_batch * p_wd * p_warm * p_aspect, with
    lr*(d, B)   = 1.5e-3 * (256/d)^0.5 * (B/64)^0.25       (muP-like: shrinks with width, grows with batch)
    p_lr        = 1 + c * ln(lr/lr*)^2, c = 0.02 below lr*, 0.04 above
    B*(D)       = 64 * (D / 1e7)^0.35 sequences            (critical batch grows with tokens)
    p_batch     = 1 + 0.02 * ln(B/B*)^2
    omega       = lr * wd * steps  (AdamW decay timescales), omega* = 0.3
    p_wd        = 1 + c * ln(omega/omega*)^2, c = 0.0015 below, 0.004 above
    p_warm      = 1 + 0.006 * ln(warmup/0.02)^2
    p_aspect    = 1 + 0.02 * (ln((d/n_layers)/64) / ln 4)^2
  divergence (status "failure") when lr > lr* * 5 * sqrt(1 + warmup/0.02) * (4/n_layers)^0.25
cost = 6 * N * D / 1e15 (PFLOP, deterministic).
Noise: loss * (1 + 0.01 * N(0, 1)), the generator seeded from CARBS_SUGGESTION_ID (sha256).

Run as a trainer:  python3 sim_trainer.py --learning_rate 3e-4 --d_model 256 ... (prints a JSON line).
Optimum table:     python3 sim_trainer.py --optimum-table optimum.json   (20 levels, cached)
                   python3 sim_trainer.py --optimum-table optimum_full.json --full-range
"""

import argparse
import hashlib
import json
import math
import os
import random
import sys

SEQ_LEN = 512
E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28

# name: (space, min, max, integer, center)   min/max None = unbounded
PARAMS = {
    "learning_rate": ("log", None, None, False, 3e-4),
    "d_model": ("log", 64, 1024, True, 256),
    "n_layers": ("linear", 2, 16, True, 4),
    "batch_size": ("log", 16, 512, True, 64),
    "steps": ("log", 500, 20000, True, 2000),
    "weight_decay": ("log", None, None, False, 0.01),
    "warmup_fraction": ("logit", 0.001, 0.5, False, 0.1),
}
CENTER = {k: v[4] for k, v in PARAMS.items()}
# Box for the model-free anchors (random search, Optuna) where the study has no bounds: +-2 decades of the center.
ANCHOR_BOX = {
    "learning_rate": (3e-6, 3e-2),
    "d_model": (64, 1024),
    "n_layers": (2, 16),
    "batch_size": (16, 512),
    "steps": (500, 20000),
    "weight_decay": (1e-4, 1.0),
    "warmup_fraction": (0.001, 0.5),
}
NUM_LEVELS = 20


def n_params(d_model, n_layers):
    return 12.0 * n_layers * d_model * d_model


def tokens(steps, batch_size):
    return float(steps) * batch_size * SEQ_LEN


def cost_of(p):
    return 6.0 * n_params(p["d_model"], p["n_layers"]) * tokens(p["steps"], p["batch_size"]) / 1e15


def lr_star(d_model, batch_size):
    return 1.5e-3 * (256.0 / d_model) ** 0.5 * (batch_size / 64.0) ** 0.25


def diverges(p):
    lr, d, L, bs, wu = p["learning_rate"], p["d_model"], p["n_layers"], p["batch_size"], p["warmup_fraction"]
    threshold = lr_star(d, bs) * 5.0 * math.sqrt(1.0 + wu / 0.02) * (4.0 / L) ** 0.25
    return lr > threshold


def noise_free_loss(p):
    """The noise-free final loss of a run, or None if it diverges (a failure)."""
    lr, d, L, bs = p["learning_rate"], p["d_model"], p["n_layers"], p["batch_size"]
    st, wd, wu = p["steps"], p["weight_decay"], p["warmup_fraction"]
    if lr <= 0 or wd <= 0 or not (0 < wu < 1):
        return None
    if diverges(p):
        return None
    N = n_params(d, L)
    D = tokens(st, bs)
    d_eff = D * (1.0 - 0.5 * wu)
    base = E + A / N**ALPHA + B / d_eff**BETA
    r = math.log(lr / lr_star(d, bs))
    p_lr = 1.0 + (0.02 if r < 0 else 0.04) * r * r
    rb = math.log(bs / (64.0 * (D / 1e7) ** 0.35))
    p_batch = 1.0 + 0.02 * rb * rb
    rw = math.log(lr * wd * st / 0.3)
    p_wd = 1.0 + (0.0015 if rw < 0 else 0.004) * rw * rw
    ru = math.log(wu / 0.02)
    p_warm = 1.0 + 0.006 * ru * ru
    ra = math.log((d / L) / 64.0) / math.log(4.0)
    p_aspect = 1.0 + 0.02 * ra * ra
    return base * p_lr * p_batch * p_wd * p_warm * p_aspect


def min_cost():
    return cost_of({"d_model": 64, "n_layers": 2, "steps": 500, "batch_size": 16})


def max_cost():
    return cost_of({"d_model": 1024, "n_layers": 16, "steps": 20000, "batch_size": 512})


def level_range(full=False):
    """The 20 levels span half the search center's cost (0.618 PF) .. the dearest cost the bounds allow (6333 PF).
    Below about 0.5 PF no configuration beats the center, so with the cap those levels would be 0 for every
    optimizer; full=True gives the whole range the bounds allow (0.0024 .. 6333 PF), reported as a side figure."""
    return (min_cost() if full else 0.5 * cost_of(CENTER)), max_cost()


def levels(full=False):
    lo, hi = (math.log(x) for x in level_range(full))
    return [math.exp(lo + (hi - lo) * i / (NUM_LEVELS - 1)) for i in range(NUM_LEVELS)]


# ---------------------------------------------------------------- noise-free optimum at cost <= C
# Every loss term but p_lr, p_wd, p_warm depends only on (d, L, B, steps); given those, the best lr, wd and
# warmup are found by a 3-D coordinate search (the divergence bound only cuts lr far above lr*). The integer
# (d, L, B, steps) are searched exhaustively over L, on a fine lattice over d and B, with steps the largest
# integer the budget allows, then refined +-3 around the best.


def _golden(f, lo, hi, iters=60):
    g = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    x = (a + b) / 2
    return x, f(x)


def _best_continuous(d, L, bs, st):
    """Best (loss, lr, wd, wu) for the integer part (d, L, bs, st)."""
    BIG = 1e9

    def loss(lr, wd, wu):
        v = noise_free_loss({"learning_rate": lr, "d_model": d, "n_layers": L, "batch_size": bs,
                             "steps": st, "weight_decay": wd, "warmup_fraction": wu})
        return BIG if v is None else v

    lr, wd, wu = lr_star(d, bs), 0.3 / (lr_star(d, bs) * st), 0.02
    best = loss(lr, wd, wu)
    for _ in range(4):
        x, v = _golden(lambda t: loss(math.exp(t), wd, wu), math.log(lr) - 3, math.log(lr) + 3)
        if v <= best:
            lr, best = math.exp(x), v
        x, v = _golden(lambda t: loss(lr, math.exp(t), wu), math.log(wd) - 5, math.log(wd) + 5)
        if v <= best:
            wd, best = math.exp(x), v
        lo, hi = math.log(0.001 / 0.999), math.log(0.5 / 0.5)
        x, v = _golden(lambda t: loss(lr, wd, 1 / (1 + math.exp(-t))), lo, hi)
        if v <= best:
            wu, best = 1 / (1 + math.exp(-x)), v
    return best, lr, wd, wu


def _fast_continuous(d, L, bs, st):
    """lr = lr*, wd at omega* (p_lr = p_wd = 1, the minimum of both factors), a golden search over warmup."""
    lr = lr_star(d, bs)
    wd = 0.3 / (lr * st)

    def loss(t):
        v = noise_free_loss({"learning_rate": lr, "d_model": d, "n_layers": L, "batch_size": bs,
                             "steps": st, "weight_decay": wd, "warmup_fraction": 1 / (1 + math.exp(-t))})
        return 1e9 if v is None else v

    x, v = _golden(loss, math.log(0.001 / 0.999), 0.0, iters=40)
    return v, lr, wd, 1 / (1 + math.exp(-x))


def _steps_for(C, d, L, bs):
    s = C * 1e15 / (6.0 * n_params(d, L) * bs * SEQ_LEN)
    s = min(20000, math.floor(s * (1 + 1e-12)))
    return s if s >= 500 else None


def optimum_at(C):
    def value(d, L, bs, full=False):
        st = _steps_for(C, d, L, bs)
        if st is None:
            return None
        v, lr, wd, wu = (_best_continuous if full else _fast_continuous)(d, L, bs, st)
        return v, {"learning_rate": lr, "d_model": d, "n_layers": L, "batch_size": bs, "steps": st,
                   "weight_decay": wd, "warmup_fraction": wu}

    best = None
    d_grid = sorted(set(int(round(64 * (16 ** (i / 40)))) for i in range(41)))
    b_grid = sorted(set(int(round(16 * (32 ** (i / 30)))) for i in range(31)))
    for L in range(2, 17):
        for d in d_grid:
            for bs in b_grid:
                r = value(d, L, bs)
                if r and (best is None or r[0] < best[0]):
                    best = r
    # local integer refinement
    improved = True
    while improved:
        improved = False
        p0 = best[1]
        for dd in range(-4, 5):
            for dl in (-1, 0, 1):
                for db in range(-4, 5):
                    d, L, bs = p0["d_model"] + dd, p0["n_layers"] + dl, p0["batch_size"] + db
                    if not (64 <= d <= 1024 and 2 <= L <= 16 and 16 <= bs <= 512):
                        continue
                    r = value(d, L, bs)
                    if r and r[0] < best[0] - 1e-12:
                        best, improved = r, True
    p0 = best[1]
    return value(p0["d_model"], p0["n_layers"], p0["batch_size"], full=True)


def optimum_table(path, full=False):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    rows = []
    for C in levels(full):
        v, p = optimum_at(C)
        rows.append({"level": C, "optimum": v, "params": p, "cost": cost_of(p)})
        print(f"level {C:.4g}: optimum {v:.5f} at {p}", file=sys.stderr)
    table = {"levels": rows, "cap": noise_free_loss(CENTER), "center": CENTER, "full_range": full,
             "level_range": level_range(full), "min_cost": min_cost(), "max_cost": max_cost()}
    with open(path, "w") as f:
        json.dump(table, f, indent=1)
    return table


# ---------------------------------------------------------------- the trainer


def _seeded_rng():
    sid = os.environ.get("CARBS_SUGGESTION_ID", "none")
    return random.Random(int.from_bytes(hashlib.sha256(sid.encode()).digest()[:8], "big"))


def main(argv):
    ap = argparse.ArgumentParser()
    for name, (space, lo, hi, integer, center) in PARAMS.items():
        ap.add_argument("--" + name, type=float, default=center)
    ap.add_argument("--optimum-table", metavar="PATH")
    ap.add_argument("--full-range", action="store_true", help="levels over the whole cost range of the bounds")
    a = ap.parse_args(argv)
    if a.optimum_table:
        t = optimum_table(a.optimum_table, a.full_range)
        print(json.dumps({"cap": t["cap"], "levels": [r["level"] for r in t["levels"]]}))
        return 0
    p = {name: getattr(a, name) for name in PARAMS}
    for name, (space, lo, hi, integer, center) in PARAMS.items():
        if integer:
            p[name] = int(round(p[name]))
    c = cost_of(p)
    loss = noise_free_loss(p)
    if loss is None:
        print(json.dumps({"status": "failure", "output": None, "cost": c, "message": "loss diverged"}))
        return 0
    noisy = loss * (1.0 + 0.01 * _seeded_rng().gauss(0.0, 1.0))
    print(json.dumps({"output": noisy, "cost": c}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
