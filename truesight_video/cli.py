"""The `truesight-video` command line: parses options and hands the work to the library."""
from __future__ import annotations

import functools
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from . import __version__
from .errors import TruesightError

PLACEHOLDER_NOTE = ("Until trained weights ship, the default model is 'unsharp-placeholder': a classic "
                    "unsharp mask run through the same engine, not a trained network.")


def _setup_logging(quiet: bool) -> None:
    logging.basicConfig(format="warning: %(message)s", level=logging.ERROR if quiet else logging.WARNING,
                        stream=sys.stderr, force=True)


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Map library errors to a one-line message and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TruesightError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted: no output was left behind", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as e:  # an internal bug: still one line, traceback on request
            if os.environ.get("TRUESIGHT_DEBUG"):
                raise
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            click.echo(f"error: {type(e).__name__}: {first} (set TRUESIGHT_DEBUG=1 for a traceback)", err=True)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="truesight-video")
def main() -> None:
    """Sharpen motion-blurred video with a small CNN."""


def model_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--weights, --device, --strength: the model choice shared by sharpen, preview and webcam."""
    fn = click.option("--strength", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
                      help="Blend of model output with the input (1 = full model).")(fn)
    fn = click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")(fn)
    fn = click.option("--weights", "--model", "weights", default=None, metavar="NAME|PATH",
                      help="A shipped model name (see `models`) or a checkpoint path. " + PLACEHOLDER_NOTE)(fn)
    return fn


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Output file (one input) or folder (several inputs). Default: <stem>.sharp<ext> beside the input.")
@click.option("-y", "--overwrite", is_flag=True, help="Overwrite an existing output.")
@model_options
@click.option("--batch-size", type=click.IntRange(1, 256), default=None,
              help="Frames per model call (default: 8 on CUDA, 1 on CPU, where batching does not pay).")
@click.option("--codec", default=None, help="Encoder (default follows the input: H.264 -> libx264, HEVC -> libx265, VP9 -> libvpx-vp9).")
@click.option("--crf", type=click.IntRange(0, 63), default=None, help="Quality (default 18 for x264/x265: visually lossless).")
@click.option("--preset", default=None, help="Encoder preset (x264/x265: ultrafast..veryslow; default medium).")
@click.option("--pix-fmt", default=None, help="Output pixel format (default: the input's).")
@click.option("--start", type=click.FloatRange(min=0.0), default=0.0, help="Start at T seconds.")
@click.option("--duration", type=click.FloatRange(min=0.0, min_open=True), default=None, help="Sharpen D seconds.")
@click.option("--side-by-side", is_flag=True, help="Write original | sharpened side by side.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or warnings.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line per output.")
@friendly
def sharpen(inputs: tuple[str, ...], output: str | None, overwrite: bool, weights: str | None, device: str,
            strength: float, batch_size: int | None, codec: str | None, crf: int | None, preset: str | None,
            pix_fmt: str | None, start: float, duration: float | None, side_by_side: bool, quiet: bool,
            as_json: bool) -> None:
    """Sharpen clips, folders of clips, or still images."""
    from .checkpoint import load_model
    from .engine import resolve_device
    from .jobs import default_output, expand_inputs, sharpen_many, sharpen_one

    _setup_logging(quiet)
    dev = resolve_device(device)
    options = dict(model=load_model(weights, dev), weights=weights, device=str(dev), strength=strength,
                   batch_size=batch_size, codec=codec, crf=crf, preset=preset, pix_fmt=pix_fmt,
                   start=start, duration=duration, side_by_side=side_by_side, overwrite=overwrite,
                   progress=not quiet and not as_json)
    paths = expand_inputs(list(inputs))
    single = len(inputs) == 1 and not Path(inputs[0]).is_dir()
    if single:
        src = paths[0]
        dst = Path(output) if output else default_output(src)
        _report(sharpen_one(src, dst, **options), as_json, quiet)
        return
    if not paths:
        raise TruesightError(f"no media files in {', '.join(inputs)}")

    def on_done(src: Path, stats: Any, problem: str | None) -> None:
        if stats is not None:
            _report(stats, as_json, quiet)
        elif not quiet:
            click.echo(f"{src}: {problem}", err=True)

    result = sharpen_many(paths, Path(output) if output else None, on_done, **options)
    if not quiet:
        click.echo(f"{len(result.done)} sharpened, {len(result.skipped)} skipped, {len(result.failed)} failed", err=True)
    if result.failed:
        sys.exit(1)


def _report(stats: Any, as_json: bool, quiet: bool) -> None:
    if as_json:
        click.echo(json.dumps({"frames": stats.frames, "seconds": round(stats.seconds, 3),
                               "fps": round(stats.fps, 2), "output": stats.output}))
    elif not quiet:
        click.echo(f"{stats.output}: {stats.frames} frames in {stats.seconds:.1f}s ({stats.fps:.1f} fps, "
                   f"{stats.device}, {stats.model})", err=True)


@main.command()
@friendly
def models() -> None:
    """List the models that ship with the package."""
    from .checkpoint import default_model_name, shipped_models

    default = default_model_name()
    for name, summary in shipped_models().items():
        click.echo(f"{'*' if name == default else ' '} {name:24s} {summary}")
    click.echo("(* = default; any checkpoint path also works with --weights)")



@main.command()
@click.argument("clip", required=False)
@click.option("--device", default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(1, 256), default=None, help="Default: 8 on CUDA, 1 on CPU.")
@click.option("--weights", "--model", "weights", default=None, metavar="NAME|PATH")
@click.option("--preset", default=None, help="Encoder preset for every measurement.")
@click.option("--crf", type=click.IntRange(0, 63), default=None)
@click.option("--size", default="640x360", show_default=True, help="Size of the generated clip when no CLIP is given.")
@click.option("--seconds", type=click.FloatRange(min=0.5), default=5.0, show_default=True)
@click.option("--memory", is_flag=True, help="Also compare peak RSS of a 5 s and a 40 s clip.")
@click.option("--json", "as_json", is_flag=True, help="Last line: one JSON object.")
@friendly
def bench(clip: str | None, device: str, batch_size: int | None, weights: str | None, preset: str | None,
          crf: int | None, size: str, seconds: float, memory: bool, as_json: bool) -> None:
    """Measure transcode-only, model-only, pipeline and naive fps in one run."""
    from .bench import format_summary, run_bench

    _setup_logging(False)
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise TruesightError(f"--size must be WxH, got {size!r}") from None
    r = run_bench(clip, device=device, batch_size=batch_size, weights=weights, preset=preset, crf=crf,
                  size=(w, h), seconds=seconds, memory=memory, log=lambda s: click.echo(s, err=True))
    click.echo(format_summary(r), err=as_json)
    if as_json:
        click.echo(json.dumps(r))


if __name__ == "__main__":
    main()
