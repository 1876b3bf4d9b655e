"""Configuration: pydantic models (strict, frozen) and Hydra composition into them."""

from datasynth.config.errors import ConfigError
from datasynth.config.loading import available_presets, conf_dir, load_config
from datasynth.config.models import DatasynthConfig

__all__ = ["ConfigError", "DatasynthConfig", "available_presets", "conf_dir", "load_config"]
