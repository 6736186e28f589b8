"""MORL/D training throughput against population size and device count.

For each device count D and population size P, `benchmarks/morld_throughput.measure`
builds one MORL/D trainer (deep-sea-treasure by default, default PPO settings: 8 envs x 64
steps per member and update, evaluation every 5 updates, random simplex weights so that one
member is a valid population) with its population split over D
devices (`morl.parallel`), compiles and warms it up on one chunk, and times `--repeats`
chunks. Printed per row: env steps/s of the whole population, per member, and the per-member
rate relative to the one-member run on the same device count (the issue's floor: within
2x, i.e. >= 0.5, up to population 64).

On CPU the script asks JAX for max(--devices) host devices before its backend starts;
XLA's intra-op threads are shared by them, so `XLA_FLAGS=--xla_cpu_multi_thread_eigen=false`
(one thread per device) is often faster with several devices. On a GPU machine the
devices are the GPUs:

    .venv/bin/python benchmarks/scaling.py                              # CPU, 1 and 2 devices
    .venv/bin/python benchmarks/scaling.py --devices 1 --pop 1,16,64,256,1024 --json gpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="deep-sea-treasure-v0")
    parser.add_argument("--pop", default="1,4,16,64", help="population sizes (multiples of every device count)")
    parser.add_argument("--devices", default="1,2", help="device counts")
    parser.add_argument("--chunk", type=int, default=5, help="updates per timed chunk")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    device_counts = [int(d) for d in args.devices.split(",")]
    pops = [int(p) for p in args.pop.split(",")]

    from morl import parallel

    parallel.request_cpu_devices(max(device_counts))  # before anything starts the backend
    import jax
    from morld_throughput import measure

    device = jax.devices()[0]
    print(
        f"jax {jax.__version__}, {len(jax.devices())} {device.platform} device(s) ({device.device_kind}), "
        f"{len(os.sched_getaffinity(0))} core(s), load {os.getloadavg()[0]:.1f}, XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}"
    )
    print(f"{'devices':>7} {'pop':>5} {'env steps/s':>12} {'per CPU-s':>10} {'per member':>11} {'vs pop 1':>9} {'compile s':>9}")
    rows = []
    for devices in device_counts:
        single = None
        for pop in pops:
            if pop % devices:
                print(f"{devices:>7} {pop:>5}  skipped: not a multiple of the device count")
                continue
            row = measure(args.env, pop, args.chunk, args.repeats, devices=devices, weight_init="random")
            per_member = row["steps_per_s"] / pop
            single = per_member if pop == 1 or single is None else single
            row["per_member_vs_smallest"] = per_member / single
            rows.append(row)
            print(
                f"{devices:>7} {pop:>5} {row['steps_per_s']:>12,.0f} {row['steps_per_cpu_s']:>10,.0f} "
                f"{per_member:>11,.0f} {per_member / single:>9.3f} {row['compile_and_first_chunk_s']:>9.1f}",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"device": str(device), "rows": rows}, handle, indent=1)


if __name__ == "__main__":
    main()
