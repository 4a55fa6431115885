"""The mapping alone on one core: decode, map and encode pre-generated events held in memory.

It regenerates the same events the input topic was loaded with (same templates and seed) before
its clock starts, so it measures the per-event work the worker does apart from Kafka.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable

import orjson

from bench.generator import EventGenerator
from bench.settings import BENCH_PRIVACY_KEY
from bench.templates import build_templates, load_samples
from mappings.errors import MappingError
from mappings.privacy import build_policy
from mappings.transform import Output, Transformer


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def map_all(raws: list[bytes], transform: Callable[[bytes], Output]) -> tuple[int, int]:
    """The timed loop (a function of its own so profiles can single it out): errors, output bytes."""
    dumps = orjson.dumps
    errors = out_bytes = 0
    for raw in raws:
        try:
            out_bytes += len(dumps(transform(raw).envelope))
        except MappingError:  # counted, as the worker would dead-letter it
            errors += 1
    return errors, out_bytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--samples", default=None, help="JSON Lines samples (default: the bundled ones)")
    parser.add_argument(
        "--privacy-preset",
        default="instructure",
        choices=("none", "instructure", "minimal"),
        help="the privacy policy (instructure: the worker's default; none: the mapping alone)",
    )
    args = parser.parse_args(argv)

    generator = EventGenerator(build_templates(load_samples(args.samples)), args.seed)
    raws = [event.value for event in generator.events(args.events)]
    policy = None
    if args.privacy_preset != "none":
        policy = build_policy({"preset": args.privacy_preset, "key": BENCH_PRIVACY_KEY})
    transformer = Transformer(policy=policy)
    cpu0, t0 = _cpu(), time.perf_counter()
    errors, out_bytes = map_all(raws, transformer.transform)
    seconds = time.perf_counter() - t0
    cpu = _cpu() - cpu0
    result = {
        "events": len(raws),
        "errors": errors,
        "seconds": seconds,
        "events_per_s": len(raws) / seconds,
        "cpu_s_per_1k_events": cpu / len(raws) * 1000,
        "output_bytes": out_bytes,
    }
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
