#!/usr/bin/env python3
"""Model-free anchors on the held-out problem, in the export's JSON-lines shape.

  anchors.py random [SEEDS]     100 random points per seed -> runs/random/sequential/seedK.jsonl
  anchors.py optuna [SEEDS]     Optuna MO-TPE (multivariate), 100 sequential trials -> runs/optuna-tpe/...

Box (ANCHOR_BOX in sim_trainer.py): the study's bounds; for the unbounded learning_rate and weight_decay, +-2
decades around the search center (3e-6 .. 3e-2 and 1e-4 .. 1). Random: log-uniform in log spaces, uniform in
linear (n_layers) and in logit space (warmup_fraction, logit-uniform), integers rounded. Optuna: the same box,
warmup_fraction log-uniform (Optuna has no logit scale), n_layers uniform int, the log-integer ones int log.
The (noisy) observed output is the trainer's: noise seeded from a suggestion id "<anchor>-<seed>-<index>".
"""

import hashlib
import json
import math
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sim_trainer as st  # noqa: E402


def run_point(p, sid):
    loss = st.noise_free_loss(p)
    c = st.cost_of(p)
    if loss is None:
        return {"status": "failure", "output": None, "cost": c, "params": p}
    rng = random.Random(int.from_bytes(hashlib.sha256(sid.encode()).digest()[:8], "big"))
    return {"status": "success", "output": loss * (1.0 + 0.01 * rng.gauss(0.0, 1.0)), "cost": c, "params": p}


def random_point(rng):
    p = {}
    for name, (space, lo, hi, integer, center) in st.PARAMS.items():
        a, b = st.ANCHOR_BOX[name]
        if space == "log":
            v = math.exp(rng.uniform(math.log(a), math.log(b)))
        elif space == "logit":
            la, lb = math.log(a / (1 - a)), math.log(b / (1 - b))
            v = 1 / (1 + math.exp(-rng.uniform(la, lb)))
        else:
            v = rng.uniform(a - 0.5, b + 0.5) if integer else rng.uniform(a, b)
        if integer:
            v = min(b, max(a, int(round(v))))
        p[name] = v
    return p


def write(anchor, seed, recs):
    d = os.path.join(HERE, "runs", anchor, "sequential")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f"seed{seed}.jsonl")
    with open(path, "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    return path


def do_random(seed):
    rng = random.Random(1000 + seed)
    return [run_point(random_point(rng), f"random-{seed}-{i}") for i in range(100)]


def do_optuna(seed):
    import optuna
    from optuna.trial import TrialState
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    B = st.ANCHOR_BOX
    sampler = optuna.samplers.TPESampler(multivariate=True, seed=seed)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    recs = []
    for i in range(100):
        t = study.ask()
        p = {
            "learning_rate": t.suggest_float("learning_rate", *B["learning_rate"], log=True),
            "d_model": t.suggest_int("d_model", *B["d_model"], log=True),
            "n_layers": t.suggest_int("n_layers", *B["n_layers"]),
            "batch_size": t.suggest_int("batch_size", *B["batch_size"], log=True),
            "steps": t.suggest_int("steps", *B["steps"], log=True),
            "weight_decay": t.suggest_float("weight_decay", *B["weight_decay"], log=True),
            "warmup_fraction": t.suggest_float("warmup_fraction", *B["warmup_fraction"], log=True),
        }
        r = run_point(p, f"optuna-{seed}-{i}")
        recs.append(r)
        if r["status"] == "success":
            study.tell(t, [r["output"], r["cost"]])
        else:
            study.tell(t, state=TrialState.FAIL)
    return recs


if __name__ == "__main__":
    which = sys.argv[1]
    seeds = [int(s) for s in (sys.argv[2].split() if len(sys.argv) > 2 else range(10))]
    fn = {"random": do_random, "optuna": do_optuna}[which]
    name = {"random": "random", "optuna": "optuna-tpe"}[which]
    for s in seeds:
        print(write(name, s, fn(s)))
