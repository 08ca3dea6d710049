#!/usr/bin/env python3
"""Write a per-seed, per-mode study file from sim.yaml.

  gen_study.py OUT.yaml SEED MODE [FRAGMENT]
MODE: sequential (max_in_flight 1) | parallel-8 (max_in_flight 8).
FRAGMENT: a YAML flow mapping merged into `optimizer:` (e.g. "{resample_frequency: 5}"), or empty.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main(out, seed, mode, fragment=""):
    with open(os.path.join(HERE, "sim.yaml")) as f:
        text = f.read()
    # The trainer runs from this folder, wherever the per-seed study file is written.
    text = text.replace("working_directory: .", f"working_directory: {HERE}")
    inflight = {"sequential": 1, "parallel-8": 8}[mode]
    text, n = re.subn(r"(?m)^max_in_flight: *\d+", f"max_in_flight: {inflight}", text)
    assert n == 1
    fragment = fragment.strip()
    extra = ""
    if fragment:
        if not (fragment.startswith("{") and fragment.endswith("}")):
            raise SystemExit(f"fragment must be a YAML flow mapping {{...}}: {fragment!r}")
        inner = fragment[1:-1].strip()
        if inner:
            extra = ", " + inner
    text, n = re.subn(r"(?m)^optimizer:.*$", f"optimizer: {{seed: {int(seed)}{extra}}}", text)
    assert n == 1
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main(*sys.argv[1:])
