"""``datasynth init``: a complete, commented configuration file that runs as it is.

The file is the embedded default composed with the industry preset and a complexity level,
validated, and written back as YAML with the comments of ``conf/config.yaml`` attached to the
same keys. Pass it back with ``datasynth -c FILE``.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import yaml

from datasynth.config.errors import ConfigError
from datasynth.config.loading import conf_dir, load_config

#: complexity -> (chart of accounts, journal entries per year of the whole group)
COMPLEXITY = {
    "small": ("small", 50_000),
    "medium": ("medium", 200_000),
    "large": ("large", 2_000_000),
}


def key_comments() -> dict[str, str]:
    """``dotted.key -> comment`` read from the inline comments of the embedded config.yaml."""
    comments: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in (conf_dir() / "config.yaml").read_text().splitlines():
        m = re.match(r"^(\s*)(?:- )?([A-Za-z_\"0-9-]+):(.*?)(?:\s+#\s*(.*))?$", line)
        if not m or line.lstrip().startswith("#"):
            continue
        indent = len(m.group(1))
        key = m.group(2).strip('"')
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([s[1] for s in stack] + [key])
        if m.group(4):
            comments[path] = m.group(4).strip()
        stack.append((indent, key))
    return comments


def _scalar(value: Any) -> str:
    return (
        str(yaml.safe_dump(value, default_flow_style=True, width=10_000))
        .strip()
        .removesuffix("...")
        .strip()
    )


def _flow(value: Any) -> str:
    return str(
        yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000)
    ).strip()


def render(plain: dict[str, Any], comments: dict[str, str]) -> str:
    lines: list[str] = []

    def emit(node: dict[str, Any], indent: int, path: str) -> None:
        for key, value in node.items():
            dotted = f"{path}.{key}" if path else str(key)
            note = f"  # {comments[dotted]}" if dotted in comments else ""
            pad = " " * indent
            shown_key = _scalar(str(key))
            commented = any(k.startswith(dotted + ".") for k in comments)
            if (
                isinstance(value, dict)
                and value
                and (
                    not path
                    or commented
                    or any(isinstance(v, dict | list) for v in value.values())
                    or len(value) > 6
                )
            ):
                lines.append(f"{pad}{shown_key}:{note}")
                emit(value, indent + 2, dotted)
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                lines.append(f"{pad}{shown_key}:{note}")
                for item in value:
                    lines.append(f"{pad}  - {_flow(item)}")
            elif isinstance(value, dict | list):
                lines.append(f"{pad}{shown_key}: {_flow(value)}{note}")
            else:
                lines.append(f"{pad}{shown_key}: {_scalar(value)}{note}")

    emit(plain, 0, "")
    return "\n".join(lines) + "\n"


def write_init(industry: str, complexity: str, path: Path, force: bool = False) -> Path:
    if path.is_dir():
        raise ConfigError([f"init -o: {str(path)!r} is a directory; name a file such as my.yaml"])
    if path.exists() and not force:
        raise ConfigError(
            [f"init -o: {str(path)!r} exists; pass --force to replace it or choose another -o"]
        )
    coa, volume = COMPLEXITY[complexity]
    config = load_config(
        [
            f"+preset={industry}",
            "global.period_months=12",
            f"chart_of_accounts.complexity={coa}",
            f"transactions.count={volume}",
        ]
    )
    plain = config.to_plain()
    header = (
        f"# datasynth configuration: industry {industry}, complexity {complexity}.\n"
        "# Written by `datasynth init`; every key is shown with its value. Edit freely, then run:\n"
        f"#   datasynth -c {path.name}            (or: python -m datasynth -c {path.name})\n"
        f"#   datasynth validate -c {path.name}   (check it)\n"
        "# Command-line overrides still apply on top: datasynth -c FILE global.seed=7\n"
    )
    text = header + render(plain, key_comments())
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.inprogress")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError([f"init -o: cannot write {str(path)!r}: {exc.strerror}"]) from None
    return path
