"""Run the CLI from a checkout: `python cli.py sharpen clip.mp4` (same as `truesight-video`)."""
import importlib.util
import sys
from pathlib import Path

_root = Path(__file__).resolve().parent
sys.path.insert(0, str(_root))

# In a checkout, training/ is not yet mapped to truesight_video.training (pip install does that).
try:
    import truesight_video.training  # noqa: F401
except ImportError:
    _spec = importlib.util.spec_from_file_location(
        "truesight_video.training", _root / "training" / "__init__.py",
        submodule_search_locations=[str(_root / "training")])
    if _spec is not None and _spec.loader is not None and (_root / "training" / "__init__.py").exists():
        _mod = importlib.util.module_from_spec(_spec)
        sys.modules["truesight_video.training"] = _mod
        _spec.loader.exec_module(_mod)

from truesight_video.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
