"""Compose a configuration with Hydra and validate it into a :class:`DatasynthConfig`.

Hydra's compose API is used (not ``@hydra.main``), so datasynth keeps its own command line,
Hydra never changes the working directory and never creates ``outputs/`` folders. The composed
OmegaConf object is turned into plain data at once; nothing below this module sees OmegaConf.
Every problem becomes a :class:`ConfigError` whose lines name the key path, the bad value and
what is allowed.
"""

from __future__ import annotations

import difflib
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
    if "is not in struct" in text or "Could not override" in text or "Could not append" in text:
        key = _key_from_message(text)
        if key:
            return _unknown_key_message(key.split("."), None)
    first = text.splitlines()[0] if text else type(exc).__name__
    return f"override error: {first}"


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


def _reference_keys(path: Sequence[str | int]) -> list[str]:
    """Keys a default configuration allows at ``path`` (list indices map to element 0)."""
    node: Any = DatasynthConfig().to_plain()
    for part in path:
        if isinstance(node, list):
            node = node[0] if node else {}
        elif isinstance(node, Mapping) and str(part) in node:
            node = node[str(part)]
        else:
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
        loc = [p for p in loc if p not in ("tagged-union", "model")]
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            problems.append(_unknown_key_message(loc, value))
            continue
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err["type"] == "literal_error" and "expected" in err.get("ctx", {}):
            msg = f"must be one of {err['ctx']['expected']}"
        where = _dotted(loc) or "configuration"
        shown = _short(value)
        problems.append(f"{where}: {msg} (got {shown})")
    return problems


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
