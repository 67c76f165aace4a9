"""TrueSight Video: sharpen motion-blurred video with a small CNN, streaming through PyAV."""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["sharpen_video", "load_model", "Stats", "TruesightError", "__version__"]

from .errors import TruesightError


def _map_checkout_training() -> None:
    """In a source checkout, top-level training/ becomes truesight_video.training, as
    `pip install .` arranges (so `python -m truesight_video.cli train` works from the repo too)."""
    import importlib.util
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    src = here.parent / "training" / "__init__.py"
    if (here / "training").is_dir() or not src.is_file() or "truesight_video.training" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location("truesight_video.training", src,
                                                  submodule_search_locations=[str(src.parent)])
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["truesight_video.training"] = module
    spec.loader.exec_module(module)


_map_checkout_training()


def __getattr__(name: str) -> Any:
    # Heavy modules (torch, av) load on first use, so `--help` and `--version` stay fast.
    if name == "sharpen_video" or name == "Stats":
        from . import pipeline

        return getattr(pipeline, name)
    if name == "load_model":
        from .checkpoint import load_model

        return load_model
    raise AttributeError(name)
