"""Reports how many of Instructure's documented payloads the default output reproduced exactly."""

from __future__ import annotations

CONFORMANCE: dict[str, tuple[int, int, int]] = {}  # event name -> (exact, compared exactly, pairs)


def pytest_terminal_summary(terminalreporter) -> None:
    if not CONFORMANCE:
        return
    exact = sum(v[0] for v in CONFORMANCE.values())
    compared = sum(v[1] for v in CONFORMANCE.values())
    pairs = sum(v[2] for v in CONFORMANCE.values())
    terminalreporter.write_line(
        f"conformance: {exact}/{pairs} documented payloads reproduced exactly "
        f"({exact}/{compared} of the pairs that describe the same event; "
        f"{pairs - compared} pairs describing different events: type, action, object type, URN kind)"
    )
