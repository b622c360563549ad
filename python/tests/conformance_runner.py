"""Trains a list of configs with the PyTorch engine's command line, in one process (torch is
imported once), for test/conformance.test.ts.

    python tests/conformance_runner.py JOBS.json

JOBS.json is a list of {"config": FILE, "runDir": DIR, "maxSteps": N, "mnistDir": DIR}; each job
runs `python -m layer_rotation train FILE --run-dir DIR --max-steps N --device cpu --threads 1
--quiet --mnist-dir DIR` (the same main() as the command line). Prints one JSON line: the exit
code of each job, in order.
"""
import json
import sys

from layer_rotation.__main__ import main


def run(jobs):
    codes = []
    for job in jobs:
        argv = ["train", job["config"], "--run-dir", job["runDir"], "--max-steps", str(job["maxSteps"])]
        argv += ["--device", "cpu", "--threads", "1", "--quiet"]
        if job.get("mnistDir"):
            argv += ["--mnist-dir", job["mnistDir"]]
        codes.append(main(argv))
    return codes


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print(json.dumps(run(json.load(f))))
