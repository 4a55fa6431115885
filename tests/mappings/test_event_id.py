"""The event id: urn:uuid + a v4-layout UUID from sha256 of the input bytes (redelivery-stable)."""

from __future__ import annotations

import hashlib
import re
import uuid

import orjson

from mappings.envelope import deterministic_id
from mappings.transform import Transformer
from tests.mappings.canvas_builders import canvas_event

RAW = orjson.dumps(canvas_event("wiki_page_created", {"wiki_page_id": "8801"}))


def test_same_bytes_same_id_across_transformers_and_modes() -> None:
    a = Transformer().transform(RAW).event["id"]
    b = Transformer().transform(RAW).event["id"]
    c = Transformer(strict=True).transform(RAW).event["id"]
    assert a == b == c


def test_different_inputs_different_ids() -> None:
    other = orjson.dumps(canvas_event("wiki_page_created", {"wiki_page_id": "8802"}))
    ids = {Transformer().transform(raw).event["id"] for raw in (RAW, other, RAW + b" ")}
    assert len(ids) == 3


def test_uuid_version_4_layout_and_rfc4122_variant() -> None:
    for i in range(200):
        value = deterministic_id(b"input %d" % i)
        assert value.startswith("urn:uuid:")
        u = uuid.UUID(value[len("urn:uuid:") :])
        assert u.version == 4
        assert u.variant == uuid.RFC_4122
        assert re.fullmatch(
            r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value
        )


def test_id_is_the_sha256_prefix_with_version_and_variant_bits_set() -> None:
    digest = bytearray(hashlib.sha256(b"hello").digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40
    digest[8] = (digest[8] & 0x3F) | 0x80
    assert deterministic_id(b"hello") == "urn:uuid:" + str(uuid.UUID(bytes=bytes(digest)))


def test_transform_obj_id_ignores_key_order() -> None:
    obj = canvas_event("wiki_page_created", {"wiki_page_id": "8801", "title": "Limits"})
    reordered = {"body": dict(reversed(list(obj["body"].items()))), "metadata": obj["metadata"]}
    t = Transformer()
    assert t.transform_obj(obj).event["id"] == t.transform_obj(reordered).event["id"]
