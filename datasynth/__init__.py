"""datasynth: synthetic enterprise-accounting data generated as a Dask task graph.

The public API is small::

    import datasynth
    cfg = datasynth.load_config(overrides=["+preset=small"])
    plan = datasynth.plan(cfg)
    df = datasynth.generate_block(cfg, "journal_entries", 0).to_pandas()
    result = datasynth.generate(cfg)
"""

from datasynth.config import ConfigError, DatasynthConfig, available_presets, load_config
from datasynth.runtime.api import generate_block, plan
from datasynth.runtime.execute import RunResult
from datasynth.runtime.execute import run as generate

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DatasynthConfig",
    "RunResult",
    "__version__",
    "available_presets",
    "generate",
    "generate_block",
    "load_config",
    "plan",
]
