#!/usr/bin/env python3
"""A tiny external trainer for CARBS (standard library only): the branin_cost problem of docs/benchmarks.md.

carbs runs it once per suggestion with the parameter values as arguments. It reports its result as the last
line of stdout: a JSON object with "output" (the metric) and "cost" (here the step count). Exit code 75 would
tell carbs the run was lost (preempted) rather than failed.
"""
import argparse
import json
import math
import os
import random


def branin(x1: float, x2: float) -> float:
    b, c = 5.1 / (4 * math.pi ** 2), 5 / math.pi
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--x1", type=float, required=True)
    parser.add_argument("--x2", type=float, required=True)
    parser.add_argument("--steps", type=int, required=True)
    args = parser.parse_args()
    rng = random.Random(os.environ.get("CARBS_SUGGESTION_ID", "0"))
    output = branin(args.x1, args.x2) + 50 / math.sqrt(args.steps) + rng.gauss(0, 0.1)
    print(f"training {args.steps} steps ...")
    print(json.dumps({"output": output, "cost": float(args.steps)}))


if __name__ == "__main__":
    main()
