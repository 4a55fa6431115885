"""`python -m bench.profile`: where the worker and the mapping spend their CPU, sampled by py-spy.

Loads BENCH_EVENTS (default 200,000) events, records the worker draining them and the mapping-only
loop over the same events with `py-spy record --format raw`, and writes a summary of the hottest
functions (inclusive and self share of samples) to bench-results/profile-{worker,mapping}.txt.
py-spy is a PyPI package (`pip install py-spy`); it samples from outside, so nothing is patched.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench import kafka_io
from bench.generator import EventGenerator
from bench.jobs import JobTopics, worker_env
from bench.runner import load_input, python_env
from bench.settings import REPO, BenchSettings
from bench.templates import build_templates, load_samples

_FRAME = re.compile(r"(?P<func>.*?) \((?P<file>.*?):(?P<line>\d+)\)$")


def _short(path: str) -> str:
    path = path.replace(str(REPO) + "/", "")
    return path.split("site-packages/")[-1]


def summarize_raw(lines: list[str], top: int = 30, focus: str | None = None) -> str:
    """Collapsed stacks ("f1 (file:line);f2 (file:line) COUNT") -> inclusive and self tables;
    with `focus`, only the stacks through a frame whose function name is `focus`."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    own_line: collections.Counter[str] = collections.Counter()
    total = 0
    for raw in lines:
        stack, _, count = raw.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        if focus is not None and not any(f.startswith(focus + " (") for f in stack.split(";")):
            continue
        n = int(count)
        total += n
        names = []
        for frame in stack.split(";"):
            m = _FRAME.match(frame)
            names.append(f"{m['func']} ({_short(m['file'])})" if m else frame)
        for name in set(names):
            inclusive[name] += n
        own[names[-1]] += n
        m = _FRAME.match(stack.split(";")[-1])
        own_line[f"{m['func']} ({_short(m['file'])}:{m['line']})" if m else names[-1]] += n
    if not total:
        return "no samples\n"
    out = [f"{total} samples", "", "inclusive (share of samples with the function on the stack):"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    out += ["", "self (share of samples in the function itself, native calls included):"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    out += ["", "self by line:"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own_line.most_common(top)]
    return "\n".join(out) + "\n"


def _record(cmd: list[str], env: dict[str, str], raw: Path, rate: int = 250) -> None:
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: pip install py-spy")
    with open(raw.with_suffix(".log"), "wb") as log:
        subprocess.run(
            [spy, "record", "-r", str(rate), "--format", "raw", "-o", str(raw), "--", *cmd],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def main() -> int:
    env = dict(os.environ)
    env.setdefault("BENCH_EVENTS", "200000")
    settings = BenchSettings.from_env(env)
    out_dir = settings.results_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    run_id = f"bench-prof-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    templates = build_templates(load_samples())
    topics = JobTopics(input=f"{run_id}.input", prefix=run_id)
    kafka_io.create_topics(settings.bootstrap, [topics.input, *topics.outputs], settings.partitions)
    try:
        load_input(settings, EventGenerator(templates, settings.seed), topics.input)
        raw = out_dir / "profile-worker.raw"
        _record(
            [*settings.worker_command, "run", "--exit-when-drained"],
            worker_env(settings.bootstrap, topics, f"{run_id}.group", 0),
            raw,
        )
        (out_dir / "profile-worker.txt").write_text(summarize_raw(raw.read_text().splitlines()), "utf-8")
    finally:
        kafka_io.delete_topics(settings.bootstrap, [topics.input, *topics.outputs])
    raw = out_dir / "profile-mapping.raw"
    cmd = [sys.executable, "-m", "bench.contenders.mapping_only", "--events", str(settings.events)]
    _record([*cmd, "--seed", str(settings.seed)], python_env(), raw)
    summary = summarize_raw(raw.read_text().splitlines(), focus="map_all")  # the timed loop only
    (out_dir / "profile-mapping.txt").write_text(summary, "utf-8")
    print(f"profiles: {out_dir / 'profile-worker.txt'}, {out_dir / 'profile-mapping.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
