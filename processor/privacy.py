"""The privacy policy of a command: from a policy file and a preset name, its key from the environment.

`caliper-processor run` takes its policy from the config's [privacy] table (processor.config);
`transform` takes `--privacy FILE` (a TOML file whose [privacy] table, or whose top level, holds
the same keys) and `--privacy-preset NAME`, with the key in CALIPER_PRIVACY_KEY or in the file
CALIPER_PRIVACY_KEY_FILE names, never on the command line (where `ps` would show it).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from typing import Any

from mappings.privacy import Policy, PolicyError, build_policy
from processor.secrets import resolve_files


def policy_settings(
    path: str | None, preset: str | None, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The settings of `--privacy FILE --privacy-preset NAME`; PolicyError names what is wrong."""
    settings: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise PolicyError(f"--privacy: cannot read {path}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"--privacy: {path} is not valid TOML: {exc}") from None
        table = data.get("privacy", data)
        if not isinstance(table, Mapping):
            raise PolicyError(f"--privacy: {path}: [privacy] must be a table")
        if "key" in table:
            raise PolicyError(f"--privacy: {path} holds a key; set CALIPER_PRIVACY_KEY(_FILE) instead")
        settings.update(table)
    resolved = resolve_files(os.environ if env is None else env, PolicyError)
    # as for `run`: the file, then the environment, then the command line
    if resolved.get("CALIPER_PRIVACY_PRESET"):
        settings["preset"] = resolved["CALIPER_PRIVACY_PRESET"]
    if preset:
        settings["preset"] = preset
    if resolved.get("CALIPER_PRIVACY_KEY"):
        settings["key"] = resolved["CALIPER_PRIVACY_KEY"]
    return settings


def command_policy(path: str | None, preset: str | None, env: Mapping[str, str] | None = None) -> Policy:
    return build_policy(policy_settings(path, preset, env))
