"""TrueSight Video: sharpen motion-blurred video with a small CNN, streaming through PyAV."""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["sharpen_video", "load_model", "Stats", "TruesightError", "__version__"]

from .errors import TruesightError


def __getattr__(name: str) -> Any:
    # Heavy modules (torch, av) load on first use, so `--help` and `--version` stay fast.
    if name == "sharpen_video" or name == "Stats":
        from . import pipeline

        return getattr(pipeline, name)
    if name == "load_model":
        from .checkpoint import load_model

        return load_model
    raise AttributeError(name)
