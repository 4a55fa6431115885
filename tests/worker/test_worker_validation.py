"""`run --validate`: an envelope that breaks the Caliper 1.1 rules becomes a dead letter (stage validate).

The built-in mappings never produce such an envelope, so a school's plug-in mapping (installed the
way a real one is: a distribution with an entry point in `caliper_processor.mappings`) produces one.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import orjson

from tests.worker.conftest import PROFILES, produce, read_all, sample_events

PLUGIN = textwrap.dedent(
    '''
    """A school's own mapping whose output forgets the object that every Caliper event needs."""
    from mappings.builders import standard_event
    from mappings.registry import mapping


    @mapping("school_badge_awarded", caliper_type="Event", action="Created")
    def badge(ev, spec):
        badge = {"id": "urn:school:badge:1", "type": "Entity"}
        event = standard_event(ev, spec.caliper_type, spec.action, badge)
        del event["object"]
        return event
    '''
)


def _install_plugin(root: Path) -> Path:
    root.mkdir()
    (root / "school_plugin.py").write_text(PLUGIN)
    dist = root / "school_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: school-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[caliper_processor.mappings]\nschool = school_plugin\n")
    return root


def test_an_envelope_failing_validation_is_a_dead_letter_with_stage_validate(stack, tmp_path: Path) -> None:
    s = stack(partitions=1)
    plugin_path = _install_plugin(tmp_path / "site")
    badge = orjson.dumps(
        {
            "metadata": {
                "event_name": "school_badge_awarded",
                "event_time": "2026-03-02T10:00:00Z",
                "hostname": "lms.school.example",
                "user_id": "4242",
                "request_id": "r-1",
            },
            "body": {"badge": "gold"},
        }
    )
    good = sample_events()[:4]
    where = produce(
        s.bootstrap, s.input, [(b"badge-key", badge, [("trace", b"t-1")])] + [(None, g, None) for g in good]
    )
    proc, _ = s.start(
        "--validate", "--exit-when-drained", log=tmp_path / "w.log", PYTHONPATH=str(plugin_path)
    )
    assert proc.wait(60) == 0, (tmp_path / "w.log").read_text()[-3000:]

    dead = read_all(s.bootstrap, s.dlq)
    assert len(dead) == 1
    letter = dead[0]
    headers = dict(letter.headers)
    assert letter.key == b"badge-key" and letter.value == badge
    assert headers["trace"] == b"t-1"
    assert headers["__connect.errors.stage"] == b"validate"
    assert b"object" in headers["__connect.errors.exception.message"]
    assert headers["__connect.errors.offset"] == str(where[0][1]).encode()
    assert sum(len(read_all(s.bootstrap, s.output(p))) for p in PROFILES) == len(good)
