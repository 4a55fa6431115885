"""The privacy policy: what of a student's data an envelope carries.

A policy is built once from its settings (`build_policy`, the `[privacy]` table of the config or
of a policy file) and then runs once per event, changing the decoded Canvas event in place just
before its mapping reads it (`Transformer(policy=...)`). Every value a mapping puts in the envelope
comes from one Canvas field, so treating the field treats every place the value lands the same
way: a user id hashed in `metadata.user_id` is the hashed id in the actor's id, its `entity_id`,
the membership id and its member, and the routing key; a dropped field never enters the envelope.
The same pass over finished envelopes cost 5 to 10 us per event (docs/performance.md).

What it does:
  - field rules by Canvas field name, in the metadata and the body (the names the envelope's
    `com.instructure.canvas` extensions show; `request_url`, `referrer` and `session` name the
    request's URL, referrer and session id): `keep`, `drop`, `hash` (HMAC-SHA256 under the
    deployment's key, 64 hex digits) or `truncate` (IPv4 to /24, IPv6 to /48; a value that is not
    an address is dropped);
  - pseudonymous users: every Canvas user id (USER_ID_KEYS, USER_ID_LIST_KEYS, any body field
    named `*_user_id`, `asset_id` of a user asset, `context_id` of a User context) replaced by its
    keyed hash, so a user's events still join with each other;
    Instructure's unknown user `0` is not a person and stays `0`;
  - URLs (`request_url`, `referrer`, URL values of the body): `keep`, `strip_query`, or
    `remove_params` (named parameters cut, the rest byte for byte);
  - credentials: query parameters such as `access_token`, `api_key`, `token`, `password`,
    `signature`, `sig`, `secret` are cut from every URL by every policy, the default included. This
    is the one deliberate difference from Instructure's documented output (its enrollment example
    has `access_token=...` in `request_url`).

Envelopes stay valid: ids keep their URN form with a hash where the user id was (64 hex digits are
a valid id), and only optional fields are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mappings.redact import CREDENTIAL_PARAMS, Hasher, clean_url, looks_like_url, needles_for, truncate_ip

ACTIONS = ("keep", "drop", "hash", "truncate")
URL_MODES = ("keep", "strip_query", "remove_params")
# Names the envelope shows for metadata fields it renames.
ALIASES = {"request_url": "url", "session": "session_id"}
# Canvas fields that hold a user id, in the metadata or the body.
USER_ID_KEYS = frozenset(
    {
        "user_id",
        "real_user_id",
        "student_id",
        "grader_id",
        "author_id",
        "assessor_id",
        "submitter_id",
        "observer_id",
        "owner_id",
        "sender_id",
        "recipient_id",
        "participant_id",
        "editor_id",
        "creator_id",
        "updating_user_id",
        "associated_user_id",
        "lti_user_id",
        "user_uuid",
    }
)
USER_ID_LIST_KEYS = frozenset({"user_ids", "student_ids", "recipient_ids", "participant_ids"})
META_USER_KEYS = ("user_id", "real_user_id")
# A person nested in the body (course_progress's `user`): its id is a user id, and its own fields
# follow the rules of the top-level fields of the same kind.
PERSON_OBJECTS = ("user",)
PERSON_FIELD_RULES = {"name": "user_name", "email": "user_login", "sis_user_id": "user_sis_id"}
UNKNOWN_USER = "0"  # Instructure's "no known user": not a person
MIN_KEY_BYTES = 16
CACHE_SIZE = 100_000
_UNSEEN = object()

PRESETS: dict[str, dict[str, Any]] = {
    # Instructure's documented output, less credentials in URLs.
    "instructure": {"fields": {}, "pseudonymous_users": False, "urls": "keep"},
    # No direct identifiers: login, SIS ids, names and the user agent dropped, the IP address cut
    # to its /24, user ids replaced by their keyed hash. `user_name` (enrollments), `sis_id` and
    # `student_sis_id` (grades) are the same kind of data as user_login and user_sis_id.
    "minimal": {
        "fields": {
            "user_login": "drop",
            "user_sis_id": "drop",
            "user_name": "drop",
            "sis_id": "drop",
            "student_sis_id": "drop",
            "user_agent": "drop",
            "client_ip": "truncate",
        },
        "pseudonymous_users": True,
        "urls": "keep",
    },
}
SETTINGS_KEYS = ("preset", "fields", "pseudonymous_users", "urls", "remove_params", "credential_params")


class PolicyError(ValueError):
    """A policy that cannot work (unknown preset or action, hash rules without a key, ...)."""


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """The settled rules of one policy: a preset with the settings' overrides applied."""

    preset: str = "instructure"
    fields: Mapping[str, str] = field(default_factory=dict)
    pseudonymous_users: bool = False
    urls: str = "keep"
    remove_params: frozenset[str] = frozenset()
    credential_params: frozenset[str] = CREDENTIAL_PARAMS

    @property
    def needs_key(self) -> bool:
        return self.pseudonymous_users or "hash" in self.fields.values()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], where: str = "privacy") -> PolicySpec:
        """Read `{preset, fields, pseudonymous_users, urls, remove_params, credential_params}`."""
        unknown = sorted(set(settings) - set(SETTINGS_KEYS) - {"key"})
        if unknown:
            raise PolicyError(f"{where}: unknown key {unknown[0]} (known: {', '.join(SETTINGS_KEYS)}, key)")
        preset = settings.get("preset") or "instructure"
        if preset not in PRESETS:
            raise PolicyError(f"{where}.preset: unknown preset {preset!r} (known: {', '.join(PRESETS)})")
        base = PRESETS[preset]
        fields = dict(base["fields"])
        overrides = settings.get("fields", {})
        if not isinstance(overrides, Mapping):
            raise PolicyError(f'{where}.fields: expected a table of name = "action"')
        for name, action in overrides.items():
            if action not in ACTIONS:
                known = ", ".join(ACTIONS)
                raise PolicyError(f"{where}.fields.{name}: expected one of {known}, got {action!r}")
            fields[name] = action
        for name, action in fields.items():
            if action == "truncate" and name in ("request_url", "referrer", "session"):
                raise PolicyError(f"{where}.fields.{name}: truncate applies to IP addresses only")
        pseudo = settings.get("pseudonymous_users", base["pseudonymous_users"])
        if not isinstance(pseudo, bool):
            raise PolicyError(f"{where}.pseudonymous_users: expected true or false, got {pseudo!r}")
        urls = settings.get("urls", base["urls"])
        if urls not in URL_MODES:
            raise PolicyError(f"{where}.urls: expected one of {', '.join(URL_MODES)}, got {urls!r}")
        remove = _names(settings.get("remove_params", []), f"{where}.remove_params")
        if urls == "remove_params" and not remove:
            raise PolicyError(f'{where}.remove_params: urls = "remove_params" needs the parameter names')
        extra = _names(settings.get("credential_params", []), f"{where}.credential_params")
        return cls(preset, fields, pseudo, urls, remove, CREDENTIAL_PARAMS | extra)


def _names(value: object, where: str) -> frozenset[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise PolicyError(f"{where}: expected a list of parameter names")
    return frozenset(v.lower() for v in value)


class Policy:
    """`policy(meta, body)`: the spec applied to one decoded Canvas event, in place.

    Written for its cost, as it runs on every event (the target is 2 us with `minimal`): rules are
    settled into tuples at construction, and the body is looked at through set operations that
    run in C; only fields a rule names are touched. Not thread-safe (its hash cache).
    """

    def __init__(self, spec: PolicySpec, key: bytes | None = None) -> None:
        if spec.needs_key and not key:
            raise PolicyError(
                "privacy: hash rules and pseudonymous users need a key "
                "(CALIPER_PRIVACY_KEY, or CALIPER_PRIVACY_KEY_FILE naming a file that holds it)"
            )
        if key is not None and spec.needs_key and len(key) < MIN_KEY_BYTES:
            raise PolicyError(f"privacy: the key must be at least {MIN_KEY_BYTES} bytes (got {len(key)})")
        self.spec = spec
        self._hash: Callable[[str], str] = Hasher(key) if key and spec.needs_key else _no_key
        rules = {ALIASES.get(name, name): action for name, action in spec.fields.items() if action != "keep"}
        self._rules = tuple(rules.items())
        self._rule_names = frozenset(rules)
        self._pseudo = spec.pseudonymous_users
        self._person_rules = tuple(
            (own, rules[kind]) for own, kind in PERSON_FIELD_RULES.items() if kind in rules
        )
        # user-id fields a field rule does not already decide
        self._user_keys = USER_ID_KEYS - self._rule_names
        self._meta_user_keys = tuple(k for k in META_USER_KEYS if k not in rules)
        self._user_list_keys = USER_ID_LIST_KEYS - self._rule_names
        remove = spec.credential_params
        if spec.urls == "remove_params":
            remove = remove | spec.remove_params
        self._remove = remove
        self._strip_query = spec.urls == "strip_query"
        self._needles = needles_for(remove)
        self._cuts: dict[str, str | None] = {}

    def __call__(self, meta: dict, body: dict) -> None:
        if self._rules:
            self._fields(meta, self._rules)
            if not self._rule_names.isdisjoint(body):
                self._fields(body, tuple((k, a) for k, a in self._rules if k in body))
        if self._person_rules or self._pseudo:
            for key in PERSON_OBJECTS:
                person = body.get(key)
                if person.__class__ is dict:
                    self._person(person)
        if self._pseudo:
            hash_id = self._user_id
            for key in self._meta_user_keys:
                value = meta.get(key)
                if value is not None:
                    meta[key] = hash_id(value)
            if not self._user_keys.isdisjoint(body):
                for key in self._user_keys.intersection(body):
                    value = body[key]
                    if value is not None and value.__class__ is not bool:
                        body[key] = hash_id(value)
            # ids that name a user only by their type: a viewed profile, a user's own files
            if body.get("asset_type") == "user" and body.get("asset_id") is not None:
                body["asset_id"] = hash_id(body["asset_id"])
            if meta.get("context_type") == "User" and meta.get("context_id") is not None:
                meta["context_id"] = hash_id(meta["context_id"])
            if body.get("context_type") == "User" and body.get("context_id") is not None:
                body["context_id"] = hash_id(body["context_id"])
            if not self._user_list_keys.isdisjoint(body):
                for key in self._user_list_keys.intersection(body):
                    value = body[key]
                    if value.__class__ is list:
                        body[key] = [v if v is None else hash_id(v) for v in value]
        url = meta.get("url")
        if url.__class__ is str and "?" in url:
            meta["url"] = self._url(url)
        url = meta.get("referrer")
        if url.__class__ is str and "?" in url:
            meta["referrer"] = self._url(url)
        for key, value in body.items():
            if value.__class__ is str and "?" in value and looks_like_url(value):
                body[key] = self._url(value)

    def extra_user_fields(self, body: dict) -> None:
        """Fields the extended mappings carry as they are: any `*_user_id` the tables do not name."""
        if self._pseudo:
            known = self._user_keys | self._rule_names
            for key, value in body.items():
                if key.endswith("_user_id") and key not in known and value.__class__ in (str, int):
                    body[key] = self._user_id(value)

    def _person(self, person: dict) -> None:
        if self._person_rules:
            self._fields(person, self._person_rules)
        if self._pseudo and person.get("id") is not None:
            person["id"] = self._user_id(person["id"])

    def _fields(self, fields: dict, rules: tuple[tuple[str, str], ...]) -> None:
        for name, action in rules:
            value = fields.get(name)
            if value is None:
                continue
            if action == "drop":
                del fields[name]
            elif action == "hash":
                fields[name] = self._hash(value if value.__class__ is str else str(value))
            else:  # truncate; a campus's addresses repeat, so the answers are remembered
                cut = self._cuts.get(value, _UNSEEN) if value.__class__ is str else None
                if cut is _UNSEEN:
                    if len(self._cuts) >= CACHE_SIZE:
                        self._cuts.clear()
                    cut = self._cuts[value] = truncate_ip(value)
                if cut is None:
                    del fields[name]  # not an address: what cannot be truncated does not pass
                else:
                    fields[name] = cut

    def _user_id(self, value: object) -> object:
        text = value if value.__class__ is str else str(value)
        if text == UNKNOWN_USER:
            return value
        return self._hash(text)

    def _url(self, url: str) -> str:
        """The URL after the URL rule and the credential cut."""
        return clean_url(url, remove=self._remove, strip_query=self._strip_query, needles=self._needles)


def _no_key(value: str) -> str:
    raise PolicyError("privacy: a hash rule ran without a key")  # excluded by Policy.__init__


def build_policy(settings: Mapping[str, Any], where: str = "privacy") -> Policy:
    """The policy of a `[privacy]` table; its key is the table's `key` (CALIPER_PRIVACY_KEY[_FILE])."""
    spec = PolicySpec.from_settings(settings, where)
    key = settings.get("key")
    return Policy(spec, key.encode("utf-8") if isinstance(key, str) and key else None)
