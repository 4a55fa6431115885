"""Generated variants of the 50 documented examples: a valid envelope or a MappingError, nothing else.

Variants drop optional fields, null them, turn numeric string ids into numbers (and back), add
fields Canvas might send tomorrow, and take the user or the request context away.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.errors import MappingError
from mappings.transform import Transformer
from mappings.validator import validate_envelope
from tests.extended.docs_examples import documented_names, example

TRANSFORMERS = (Transformer(mappings="extended"), Transformer(mappings="extended", strict=True))
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
field_change = st.sampled_from(("keep", "keep", "drop", "null", "number", "string"))
new_fields = st.dictionaries(
    st.text(min_size=1, max_size=8).map(lambda k: "zz_" + k), json_values, max_size=3
)


def _names() -> list[str]:
    return documented_names()


@st.composite
def variants(draw) -> tuple[dict, dict]:
    names = _names()
    payload = example(draw(st.sampled_from(names)))
    body = payload["body"]
    for key in list(body):
        change = draw(field_change)
        value = body[key]
        if change == "drop":
            del body[key]
        elif change == "null":
            body[key] = None
        elif change == "number" and isinstance(value, str) and value.isdigit():
            body[key] = int(value)
        elif change == "string" and type(value) is int:
            body[key] = str(value)
    extra = draw(new_fields)
    body.update(extra)
    meta = payload["metadata"]
    if draw(st.booleans()):
        meta.pop("user_id", None)
    if draw(st.booleans()):
        for key in ("context_type", "context_id", "context_role"):
            meta.pop(key, None)
    return payload, extra


def _has_content(value: object) -> bool:
    if isinstance(value, dict):
        return any(_has_content(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_content(v) for v in value)
    return value is not None


@SETTINGS
@given(variants())
def test_variant_is_a_valid_envelope_or_a_mapping_error(case: tuple[dict, dict]) -> None:
    payload, extra = case
    for transformer in TRANSFORMERS:
        try:
            out = transformer.transform_obj(payload)
        except MappingError as exc:
            assert exc.stage in ("map", "decode") and exc.reason
            continue
        assert validate_envelope(out.envelope) == []
        ext = out.event["object"].get("extensions", {}).get("com.instructure.canvas", {})
        for key, value in extra.items():
            if _has_content(value):
                assert key in ext, key  # a field no mapping names is carried, not dropped
