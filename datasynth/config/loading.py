"""Compose a configuration with Hydra and validate it into a :class:`DatasynthConfig`.

Hydra's compose API is used (not ``@hydra.main``), so datasynth keeps its own command line,
Hydra never changes the working directory and never creates ``outputs/`` folders. The composed
OmegaConf object is turned into plain data at once; nothing below this module sees OmegaConf.
Every problem becomes a :class:`ConfigError` whose lines name the key path, the bad value and
what is allowed.
"""

from __future__ import annotations

import difflib
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from datasynth.config.errors import ConfigError
from datasynth.config.models import DatasynthConfig


def conf_dir() -> Path:
    """The directory holding ``config.yaml`` and the ``preset/`` group.

    In an installed wheel the YAML lives inside the package (``datasynth/conf``); in a source
    checkout it is the repository's top-level ``conf/``.
    """
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "conf", here.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise FileNotFoundError("datasynth's embedded configuration (conf/config.yaml) is missing")


def available_presets() -> list[str]:
    """Names accepted by ``+preset=NAME``."""
    return sorted(p.stem for p in (conf_dir() / "preset").glob("*.yaml"))


def load_config(
    overrides: Sequence[str] = (), config_file: str | Path | None = None
) -> DatasynthConfig:
    """Compose the embedded configuration (or ``config_file``) with Hydra-style overrides.

    ``overrides`` are Hydra override strings: ``transactions.count=2000000``,
    ``+preset=large``, ``output.format=csv``. Raises :class:`ConfigError` on any problem.
    """
    plain = compose_plain(overrides, config_file)
    return validate_plain(plain)


def compose_plain(
    overrides: Sequence[str] = (), config_file: str | Path | None = None
) -> dict[str, Any]:
    """Hydra composition only: the merged configuration as plain dicts and lists."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    overrides = list(overrides)
    with _primary_dir(config_file) as (directory, name):
        try:
            with initialize_config_dir(
                config_dir=str(directory), version_base=None, job_name="datasynth"
            ):
                cfg = compose(config_name=name, overrides=overrides)
                cfg_container = OmegaConf.to_container(cfg, resolve=True)
        except (HydraException, OmegaConfBaseException) as exc:
            raise ConfigError([_explain_hydra_error(exc, overrides)]) from None
        except yaml.YAMLError as exc:
            where = str(config_file) if config_file is not None else "conf/config.yaml"
            raise ConfigError(
                [f"--config: {where!r} is not valid YAML: {' '.join(str(exc).split())}"]
            ) from None
    if not isinstance(cfg_container, dict):
        raise ConfigError(
            ["the configuration must be a mapping of sections (global, companies, ...)"]
        )
    cfg_container.pop("hydra", None)
    cfg_container.pop("preset", None)
    return {str(k): v for k, v in cfg_container.items()}


@contextmanager
def _primary_dir(config_file: str | Path | None) -> Iterator[tuple[Path, str]]:
    if config_file is None:
        yield conf_dir(), "config"
        return
    path = Path(config_file)
    if not path.is_file():
        raise ConfigError(
            [
                f"--config: no such file {str(path)!r}; pass a YAML file written by "
                "`datasynth init` or a copy of conf/config.yaml"
            ]
        )
    # A user file becomes the primary config of a throw-away config directory that also holds
    # the packaged preset group, so `+preset=...` keeps working on top of it.
    with tempfile.TemporaryDirectory(prefix="datasynth-conf-") as tmp:
        shutil.copyfile(path, Path(tmp) / "config.yaml")
        (Path(tmp) / "preset").symlink_to(conf_dir() / "preset", target_is_directory=True)
        yield Path(tmp), "config"


def _explain_hydra_error(exc: Exception, overrides: Sequence[str]) -> str:
    text = str(exc).strip()
    if "preset/" in text and ("Could not find" in text or "not found" in text):
        bad = next(
            (o.split("=", 1)[1] for o in overrides if o.lstrip("+~").startswith("preset=")), "?"
        )
        close = difflib.get_close_matches(bad, available_presets(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return (
            f"preset: unknown preset {bad!r}{hint}; available presets: "
            f"{', '.join(available_presets())}"
        )
    if "An item is already at" in text:
        key = _key_from_message(text)
        if key:
            return (
                f"{key}: already exists, so '+{key}=...' cannot add it; drop the '+' to change "
                "the value, or use '++' to add or override"
            )
    if "is not in struct" in text or "Could not override" in text or "Could not append" in text:
        key = _key_from_message(text)
        unknown = _first_unknown(key.split(".")) if key else None
        if unknown:
            return _unknown_key_message(unknown, None)
        missing = _key_from_message(str(exc.__cause__ or ""))
        if key and missing and (key == missing or key.startswith(f"{missing}.")):
            return (
                f"{key}: a valid key, but the configuration being overridden has no "
                f"{missing!r} (a config file that leaves it out); set it in the file or add it "
                f"with '+{key}=VALUE'"
            )
    first = text.splitlines()[0] if text else type(exc).__name__
    cause = str(exc.__cause__ or "").strip().splitlines()
    return f"override error: {first}" + (f" ({cause[0]})" if cause else "")


def _key_from_message(text: str) -> str | None:
    for line in text.splitlines():
        for marker in (
            "Could not override '",
            "Could not append to config. An item is already at '",
        ):
            if marker in line:
                return line.split(marker, 1)[1].split("'", 1)[0]
        if "full_key:" in line:
            return line.split("full_key:", 1)[1].strip()
    return None


@cache
def _default_plain() -> dict[str, Any]:
    return DatasynthConfig().to_plain()


def _walk(path: Sequence[str | int]) -> tuple[Any, int]:
    """Follow ``path`` through a default configuration (list indices map to element 0).

    Returns the node reached and how many components of ``path`` exist.
    """
    node: Any = _default_plain()
    for i, part in enumerate(path):
        if isinstance(node, list) and str(part).isdigit():
            node = node[0] if node else {}
        elif isinstance(node, Mapping) and str(part) in node:
            node = node[str(part)]
        else:
            return node, i
    return node, len(path)


def _first_unknown(parts: Sequence[str]) -> list[str] | None:
    """The key path up to its first component a default configuration does not have."""
    _, known = _walk(parts)
    return None if known == len(parts) else list(parts[: known + 1])


def _reference_keys(path: Sequence[str | int]) -> list[str]:
    """Keys a default configuration allows at ``path``."""
    node, known = _walk(path)
    if known < len(path):
        return []
    if isinstance(node, list):
        node = node[0] if node else {}
    return list(node) if isinstance(node, Mapping) else []


def _unknown_key_message(loc: Sequence[str | int], value: object) -> str:
    key = str(loc[-1])
    parent = list(loc[:-1])
    allowed = _reference_keys(parent)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
    dotted = _dotted(loc)
    hint = f"did you mean {_dotted([*parent, close[0]])!r}? " if close else ""
    shown = "" if value is None else f" (value {value!r})"
    allowed_text = ", ".join(allowed) if allowed else "no keys"
    return f"{dotted}: unknown key{shown}; {hint}allowed here: {allowed_text}"


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def validate_plain(plain: Mapping[str, Any]) -> DatasynthConfig:
    """Validate plain data into the frozen model, turning pydantic errors into a ConfigError."""
    try:
        return DatasynthConfig.model_validate(dict(plain))
    except ValidationError as exc:
        raise ConfigError(_explain_validation(exc)) from None


def _explain_validation(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        # pydantic appends the tag of a failed union branch or the model name; keep real keys only
        # (and the "[key]" marker of a bad mapping key, whose value is the key itself)
        loc = [p for p in loc if p not in ("tagged-union", "model", "[key]")]
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            problems.append(_unknown_key_message(loc, value))
            continue
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err["type"] == "literal_error" and "expected" in err.get("ctx", {}):
            msg = f"must be one of {err['ctx']['expected']}"
        # A validator of a whole section names the key at fault as "key: message".
        field = _FIELD_PREFIX.match(msg)
        if field and isinstance(value, Mapping) and field.group(1) in value:
            loc = [*loc, field.group(1)]
            value = value[field.group(1)]
            msg = msg[field.end() :]
        where = _dotted(loc) or "configuration"
        problems.append(f"{where}: {msg}{_shown(value)}")
    return problems


_FIELD_PREFIX = re.compile(r"^(\w+): ")


def _shown(value: object) -> str:
    """`` (got VALUE)``; a mapping or list too long to read whole is left out."""
    text = repr(value)
    if len(text) <= 120:
        return f" (got {text})"
    return "" if isinstance(value, Mapping | list | tuple) else f" (got {text[:117]}...)"
