"""`caliper-processor diff A B`: two Caliper JSON Lines streams, event by event.

For schools moving from Instructure's hosted Caliper feed to this one: run the Canvas events
the school kept through `transform`, then diff the feed it received against our output.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

NAME = "diff"
HELP = "compare two Caliper JSON Lines streams event by event (ids and sendTime ignored)"
DESCRIPTION = """\
Compare two streams of Caliper envelopes (JSON Lines, one envelope per line; gzip accepted;
'-' reads stdin for one of them). A line may also hold a bare event. Events are paired by
(type, action, object id, actor id, eventTime); events with the same key are paired in the
order they appear. Event `id` and envelope `sendTime` are ignored (they differ between any two
producers); every other field of the event, and the envelope's sensor and dataVersion, must be
equal for a pair to match. JSON numbers compare by value (100 and 100.0 match).
With --pair-leftovers, events still unpaired on both sides of one type and action are then
paired in order and reported as differing, so two feeds that disagree on a key field (an id,
a timestamp) show where, instead of only counting one-sided events.

Prints, per event type and action, how many pairs match exactly, how many differ (with each
differing field path and how many pairs differ there) and how many events are only in A or
only in B.

Exit status: 0 when every event is paired and every pair matches; 1 when any pair differs or
any event is only on one side; 2 when a file cannot be read or a line is not a Caliper envelope
or event (the message names the file and line).

examples:
  caliper-processor transform canvas-events.jsonl > ours.jsonl
  caliper-processor diff instructure-feed.jsonl.gz ours.jsonl
  caliper-processor diff --json a.jsonl b.jsonl | jq '.groups[] | select(.differ > 0)'
"""

Key = tuple[str, str, str, str, str]


class InputError(Exception):
    """A stream that cannot be compared: unreadable file, or a line that is no Caliper JSON."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A", help="first stream (e.g. the feed Instructure delivered)")
    parser.add_argument("b", metavar="B", help="second stream (e.g. caliper-processor's output)")
    parser.add_argument("--json", action="store_true", help="print a machine-readable JSON report instead")
    parser.add_argument(
        "--pair-leftovers",
        action="store_true",
        help="then pair, in order, the events left unpaired on both sides within one type and action, "
        "and report them as differing (with the key fields among the paths): for feeds that disagree "
        "on an object id, actor or eventTime",
    )


@dataclass(slots=True)
class Group:
    """The comparison of one (type, action)."""

    matched: int = 0
    differ: int = 0
    only_a: list[Key] = field(default_factory=list)
    only_b: list[Key] = field(default_factory=list)
    paths: Counter = field(default_factory=Counter)


def _lines(path: str) -> Iterator[tuple[int, bytes]]:
    try:
        raw = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        stream = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
        yield from enumerate(stream, 1)
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    finally:
        if path != "-":
            raw.close()


def _events(path: str) -> Iterator[tuple[Key, dict]]:
    """(pairing key, comparable form) of every event of the stream, in order."""
    import orjson

    for number, raw in _lines(path):
        raw = raw.strip()
        if not raw:
            continue
        where = f"{path} line {number}"
        try:
            item = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{where}: not JSON ({exc})") from None
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected a Caliper envelope (a JSON object)")
        if "data" in item:
            data = item["data"]
            if not isinstance(data, list):
                raise InputError(f"{where}: envelope data must be an array of events")
            envelope = {k: item[k] for k in ("sensor", "dataVersion") if k in item}
        elif isinstance(item.get("type"), str):
            data, envelope = [item], {}
        else:
            raise InputError(f"{where}: neither a Caliper envelope (data) nor an event (type)")
        for index, event in enumerate(data):
            if not isinstance(event, dict):
                raise InputError(f"{where}: data[{index}] is not an event object")
            yield _key(event), _comparable(event, envelope)


def _ref_id(value: object) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _key(event: dict) -> Key:
    return (
        str(event.get("type", "")),
        str(event.get("action", "")),
        _ref_id(event.get("object")),
        _ref_id(event.get("actor")),
        str(event.get("eventTime", "")),
    )


def _comparable(event: dict, envelope: dict) -> dict:
    out = {k: v for k, v in event.items() if k != "id"}
    for key, value in envelope.items():
        out[f"(envelope).{key}"] = value
    return out


def _member(path: str, key: str) -> str:
    if key.isidentifier() or key.startswith("(envelope)"):
        return f"{path}.{key}" if path else key
    return f'{path}["{key}"]'


def differences(a: object, b: object, path: str = "") -> list[str]:
    """Paths at which two JSON values differ (a key missing on one side is a difference there)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            sub = _member(path, key)
            if key not in a or key not in b:
                out.append(sub)
            else:
                out.extend(differences(a[key], b[key], sub))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")
        ]
    same_number = (
        type(a) in (int, float) and type(b) in (int, float) and a == b  # JSON: 100 == 100.0; True != 1
    )
    return [] if same_number or (type(a) is type(b) and a == b) else [path or "(event)"]


def _pair(group: Group, a: dict, b: dict) -> None:
    paths = differences(a, b)
    if paths:
        group.differ += 1
        group.paths.update(paths)
    else:
        group.matched += 1


def compare(path_a: str, path_b: str, *, pair_leftovers: bool = False) -> dict[tuple[str, str], Group]:
    side_a: dict[Key, list[dict]] = defaultdict(list)
    for key, event in _events(path_a):
        side_a[key].append(event)
    groups: dict[tuple[str, str], Group] = defaultdict(Group)
    left_b: dict[tuple[str, str], list[tuple[Key, dict]]] = defaultdict(list)
    for key, event in _events(path_b):
        waiting = side_a.get(key)
        if waiting:
            _pair(groups[key[:2]], waiting.pop(0), event)
        else:
            left_b[key[:2]].append((key, event))
    left_a: dict[tuple[str, str], list[tuple[Key, dict]]] = defaultdict(list)
    for key, events in side_a.items():
        left_a[key[:2]].extend((key, event) for event in events)
    for type_action in sorted(set(left_a) | set(left_b)):
        group = groups[type_action]
        rest_a, rest_b = left_a.get(type_action, []), left_b.get(type_action, [])
        if pair_leftovers:
            paired = min(len(rest_a), len(rest_b))
            for (_, a), (_, b) in zip(rest_a[:paired], rest_b[:paired], strict=True):
                _pair(group, a, b)
            rest_a, rest_b = rest_a[paired:], rest_b[paired:]
        group.only_a.extend(key for key, _ in rest_a)
        group.only_b.extend(key for key, _ in rest_b)
    return dict(sorted(groups.items()))


def report(groups: dict[tuple[str, str], Group], path_a: str, path_b: str) -> dict:
    rows = [
        {
            "type": caliper_type,
            "action": action,
            "matched": g.matched,
            "differ": g.differ,
            "only_a": len(g.only_a),
            "only_b": len(g.only_b),
            "paths": dict(sorted(g.paths.items())),
            "only_a_keys": [list(k) for k in g.only_a[:20]],
            "only_b_keys": [list(k) for k in g.only_b[:20]],
        }
        for (caliper_type, action), g in groups.items()
    ]
    totals = {k: sum(r[k] for r in rows) for k in ("matched", "differ", "only_a", "only_b")}
    equal = totals["differ"] == 0 and totals["only_a"] == 0 and totals["only_b"] == 0
    return {"a": path_a, "b": path_b, "equal": equal, "totals": totals, "groups": rows}


def _text(result: dict) -> str:
    lines = [f"A = {result['a']}", f"B = {result['b']}", ""]
    for row in result["groups"]:
        lines.append(
            f"{row['type']} {row['action']}: {row['matched']} match, {row['differ']} differ, "
            f"{row['only_a']} only in A, {row['only_b']} only in B"
        )
        lines.extend(f"    {path}: {count} differ" for path, count in row["paths"].items())
    t = result["totals"]
    lines.append("")
    lines.append(
        f"total: {t['matched']} match, {t['differ']} differ, {t['only_a']} only in A, {t['only_b']} only in B"
        + (" (the streams are equivalent)" if result["equal"] else "")
    )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    if args.a == "-" and args.b == "-":
        sys.stderr.write("caliper-processor diff: only one of A and B can be stdin ('-')\n")
        return 2
    try:
        result = report(compare(args.a, args.b, pair_leftovers=args.pair_leftovers), args.a, args.b)
    except InputError as exc:
        sys.stderr.write(f"caliper-processor diff: {exc}\n")
        return 2
    if args.json:
        import orjson

        sys.stdout.buffer.write(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        sys.stdout.write(_text(result))
    return 0 if result["equal"] else 1
