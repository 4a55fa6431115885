"""Every strict envelope passes the Caliper 1.1 rules; every default one passes them tolerantly."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from mappings.errors import UnmappedEventError
from mappings.transform import Transformer
from tests.conftest import shared_dir
from tests.mappings.canvas_builders import JOB_META, canvas_event

validator = pytest.importorskip("mappings.validator")

SAMPLES = resources.files("mappings") / "samples" / "canvas_events.jsonl"


def _samples() -> list[dict]:
    return [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]


def _own_edge_cases() -> list[dict]:
    no_user = ("user_id", "user_login", "user_sis_id", "context_role")
    return [
        canvas_event("asset_accessed", {"asset_type": "attachment", "asset_id": "7001"}, drop=no_user),
        canvas_event("asset_accessed", {"asset_type": "course", "asset_id": "3001", "asset_subtype": "home"}),
        canvas_event(
            "submission_created", {"submission_id": "1", "assignment_id": "2", "body": "x"}, meta=JOB_META
        ),
        canvas_event("quiz_submitted", {"submission_id": "1", "quiz_id": "2"}, meta=JOB_META),
        canvas_event("discussion_entry_created", {"discussion_entry_id": "1", "text": "hi"}, meta=JOB_META),
        canvas_event("logged_in", {"redirect_url": "https://lms.example.ac.uk/"}, meta=JOB_META),
        canvas_event("grade_change", {"submission_id": "1", "score": 3}, drop=no_user),
        canvas_event(
            "wiki_page_updated", {"wiki_page_id": "1"}, context_role="TaEnrollment", real_user_id="9"
        ),
        canvas_event(
            "enrollment_created",
            {"enrollment_id": "5", "course_id": "3001", "course_section_id": "3101"},
            context_role="DesignerEnrollment",
        ),
        canvas_event(
            "group_membership_created",
            {"group_membership_id": "1", "group_id": "2", "group_category_id": "3", "user_id": "4"},
        ),
    ]


def _check(inputs: list[dict]) -> list[str]:
    problems = []
    for strict in (False, True):
        transformer = Transformer(strict=strict)
        for raw in inputs:
            try:
                out = transformer.transform_obj(raw)
            except UnmappedEventError:
                continue
            violations = validator.validate_envelope(out.envelope, tolerant=not strict)
            if violations:
                mode = "strict" if strict else "default"
                problems.append(f"{mode} {out.event_name}: " + "; ".join(map(str, violations)))
    return problems


def test_own_samples_are_valid() -> None:
    assert _check(_samples()) == []


def test_own_edge_cases_are_valid() -> None:
    assert _check(_own_edge_cases()) == []


def test_canvas_docs_inputs_are_valid() -> None:
    inputs = []
    for path in sorted(shared_dir("canvas-docs", "canvas").glob("*.json")):
        inputs.extend(example["payload"] for example in json.loads(path.read_text())["examples"])
    assert len(inputs) == 71
    assert _check(inputs) == []


def test_wild_captures_are_valid() -> None:
    inputs = [
        json.loads(p.read_text())
        for p in sorted(shared_dir("wild-samples", "castor-raw-canvas").rglob("*.json"))
    ]
    assert inputs
    assert _check(inputs) == []


def test_default_output_is_not_strictly_valid_where_instructure_deviates() -> None:
    """The deviations are real: the tolerant mode is needed for the default output, not a no-op."""
    raw = canvas_event("discussion_topic_created", {"discussion_topic_id": "501", "title": "Q"})
    out = Transformer().transform_obj(raw)
    assert validator.validate_envelope(out.envelope, tolerant=False)
    assert validator.validate_envelope(out.envelope, tolerant=True) == []
