"""datasynth: synthetic enterprise-accounting data generated as a Dask task graph.

The public API is small::

    import datasynth
    cfg = datasynth.load_config(overrides=["+preset=small"])
    plan = datasynth.plan(cfg)
    df = datasynth.generate_block(cfg, "journal_entries", 0).to_pandas()
    result = datasynth.generate(cfg)
"""

import os

# Tables that cross process boundaries (Dask's pickle-5 frames) arrive with buffers at arbitrary
# offsets; Acero (pyarrow's group_by, joins) warns once per such buffer by default. Copying the
# few misaligned buffers is the safe choice and silent; read by Arrow on first use, so set it
# before any computation in this process (a worker imports datasynth before running a task).
os.environ.setdefault("ACERO_ALIGNMENT_HANDLING", "reallocate")

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
