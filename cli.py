"""Run the CLI from a checkout: `python cli.py sharpen clip.mp4` (same as `truesight-video`)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from truesight_video.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
