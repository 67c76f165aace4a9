"""The `truesight-video` command line: parses options and hands the work to the library."""
from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, NoReturn

import click

from . import __version__
from .options import BACKENDS, DEFAULT_TEMPORAL, PRECISIONS, numerics_label
from .errors import ParameterError, TruesightError, first_line

PLACEHOLDER_NOTE = ("Default: the shipped 'multiscale-student'; 'studentcnn-v3' is the six-conv student. "
                    "'unsharp-placeholder' is a classic unsharp mask run through the same engine, not a trained network.")


def _setup_logging(quiet: bool) -> None:
    logging.basicConfig(format="warning: %(message)s", level=logging.ERROR if quiet else logging.WARNING,
                        stream=sys.stderr, force=True)
    # SVT-AV1 prints a banner of ten lines straight to stderr whenever an encoder opens (AV1 output, or a
    # trial of it as a fallback, even under -q) and warns of thread priorities; its own variable keeps its errors
    os.environ.setdefault("SVT_LOG", "1")


FLAGS = {"address": "--ray"}  # library parameters whose flag is not --<parameter>


def error_text(e: TruesightError) -> str:
    """A library error as the user should read it: a bad parameter is named by its flag."""
    if isinstance(e, ParameterError):
        return f"{FLAGS.get(e.param, '--' + e.param.replace('_', '-'))} {e.problem}"
    return str(e)


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, a scheduler's timeout), raised like Ctrl-C so the same cleanup runs."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated


def _interrupt_in(e: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM behind an error, if any: a native module's import turns one that arrives while it
    initialises into ImportError("initialization failed") (pybind11 does, for onnxruntime on first use)."""
    seen: set[int] = set()
    cause: BaseException | None = e
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def _exit_interrupted(e: KeyboardInterrupt) -> NoReturn:
    terminated = isinstance(e, Terminated)
    click.echo(f"{'terminated' if terminated else 'interrupted'}: no output was left behind", err=True)
    sys.exit(143 if terminated else 130)


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Map library errors to a one-line message and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # SIGTERM's default kills the process where it stands, leaving a hidden temporary output behind
        previous = None
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            previous = signal.signal(signal.SIGTERM, _raise_terminated)
        try:
            return fn(*args, **kwargs)
        except TruesightError as e:
            click.echo(f"error: {error_text(e)}", err=True)
            sys.exit(1)
        except KeyboardInterrupt as e:
            _exit_interrupted(e)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as e:  # an internal bug: still one line, traceback on request
            interrupt = _interrupt_in(e)
            if interrupt is not None:
                _exit_interrupted(interrupt)
            if os.environ.get("TRUESIGHT_DEBUG"):
                raise
            click.echo(f"error: {type(e).__name__}: {first_line(e)} (set TRUESIGHT_DEBUG=1 for a traceback)", err=True)
            sys.exit(1)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="truesight-video")
def main() -> None:
    """Sharpen motion-blurred video with a small CNN."""


PRECISION_HELP = ("Numerics: auto picks the fastest the device offers within 0.5 levels of fp32 "
                  "(bf16 where the CPU has native bf16, fp16 on CUDA); fp32 is the plain path.")


def precision_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--precision and --backend, shared by every command that runs a model."""
    fn = click.option("--backend", type=click.Choice(BACKENDS), default="auto",
                      show_default=True,
                      help="auto: torch, or ONNX Runtime on a CPU where it is installed "
                           "(pip install \"truesight-video[onnx]\") and measured faster. compile: torch.compile, "
                           "fastest on CPUs with bf16 units (AMX), after compiling once per frame size (up to a minute the "
                           "first time, seconds from torch's cache; needs a C++ compiler).")(fn)
    return click.option("--precision", type=click.Choice(PRECISIONS), default="auto",
                        show_default=True, help=PRECISION_HELP)(fn)


def temporal_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--temporal, shared by the commands that run a model over frames in order (and eval)."""
    return click.option("--temporal", type=click.FloatRange(0.0, 1.0, max_open=True), default=DEFAULT_TEMPORAL,
                        show_default=True,
                        help="Blend each frame's sharpening with the previous frame's where the picture holds "
                             "still, so still scenes do not flicker (0 = off: each frame alone).")(fn)


def model_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--weights, --device, --precision, --strength, --temporal: the model choice shared by sharpen, preview
    and webcam."""
    fn = temporal_option(fn)
    fn = click.option("--strength", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
                      help="Blend of model output with the input (1 = full model).")(fn)
    fn = precision_option(fn)
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
@click.option("--preset", default=None, help="Encoder preset: x264/x265 ultrafast..placebo (default medium); VP9 0..8, AV1 0..13 (speed: lower is slower, better).")
@click.option("--pix-fmt", default=None, help="Output pixel format (default: the input's).")
@click.option("--start", type=click.FloatRange(min=0.0), default=0.0, help="Start at T seconds.")
@click.option("--duration", type=click.FloatRange(min=0.0, min_open=True), default=None, help="Sharpen D seconds.")
@click.option("--side-by-side", is_flag=True, help="Write original | sharpened side by side.")
@click.option("--tile", type=click.IntRange(min=32), default=None,
              help="Run the model on overlapping tiles of this size (same result, less memory; auto above 1440p).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or warnings.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line per output.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="auto", default=None, metavar="[auto|ADDRESS]",
              help="Each input is a task on a Ray cluster (one GPU each where it has GPUs, else a CPU): auto joins "
                   "the running cluster or starts a local one; ADDRESS is its head's HOST:PORT. Paths must be on "
                   "storage every node shares. Give it after the inputs, or as --ray=auto.")
@friendly
def sharpen(inputs: tuple[str, ...], output: str | None, overwrite: bool, weights: str | None, device: str,
            precision: str, backend: str, strength: float, temporal: float, batch_size: int | None, codec: str | None, crf: int | None,
            preset: str | None, pix_fmt: str | None, start: float, duration: float | None, side_by_side: bool,
            tile: int | None, quiet: bool, as_json: bool, ray_address: str | None) -> None:
    """Sharpen clips, folders of clips, or still images."""
    from .options import ClusterOptions, EncodeSettings, EngineOptions, SharpenOptions

    _setup_logging(quiet)
    if ray_address is not None and ray_address != "auto" and Path(ray_address).exists():
        raise TruesightError(f"--ray took the input {ray_address!r} for a cluster address: give --ray after the "
                             "inputs, or as --ray=auto")
    cluster = ClusterOptions(address=ray_address, worker_logs=not quiet) if ray_address is not None else None
    options = SharpenOptions(
        engine=EngineOptions(weights=weights, device=device, precision=precision, backend=backend,
                             strength=strength, temporal=temporal, tile=tile, batch_size=batch_size),
        encode=EncodeSettings(codec=codec, crf=crf, preset=preset, pix_fmt=pix_fmt),
        start=start, duration=duration, side_by_side=side_by_side, overwrite=overwrite,
        progress=not quiet and not as_json)
    from .checkpoint import load_model
    from .engine import resolve_device
    from .jobs import expand_inputs, output_for, sharpen_many, sharpen_one

    # once, so a bad --weights fails before any work; on Ray the tasks get a copy and move it to their device
    model = load_model(weights, "cpu" if cluster else resolve_device(device))
    paths = expand_inputs(list(inputs))
    if not paths:
        raise TruesightError(f"no media files in {', '.join(inputs)}")
    single = len(inputs) == 1 and not Path(inputs[0]).is_dir()
    jobs = [(src, output_for(src, output, single)) for src in paths]
    if cluster is not None:
        from .cluster import sharpen_on_ray

        _finish(sharpen_on_ray(jobs, _job_reporter(as_json, quiet), options, cluster, model), quiet, list_failed=True)
    elif single:
        _report(sharpen_one(*jobs[0], options, model), as_json, quiet)
    else:
        _finish(sharpen_many(jobs, _job_reporter(as_json, quiet), options, model), quiet)


def _finish(result: Any, quiet: bool, list_failed: bool = False) -> None:
    """A folder or Ray run's summary line (and, for Ray, which clips failed); exit 1 if any did."""
    if not quiet:
        click.echo(f"{len(result.done)} sharpened, {len(result.skipped)} skipped, {len(result.failed)} failed", err=True)
    for src, e in result.failed if list_failed else []:  # failures are said with -q too
        click.echo(f"  failed: {src}: {error_text(e)}", err=True)
    if result.failed:
        sys.exit(1)


def _job_reporter(as_json: bool, quiet: bool) -> Any:
    """The per-clip callback of a folder or Ray run: its stats line, or its one-line error."""

    def on_done(src: Path, stats: Any, problem: str | TruesightError | None) -> None:
        if stats is not None:
            _report(stats, as_json, quiet)
        elif isinstance(problem, TruesightError):  # a failure is said with -q too (only progress is hushed)
            click.echo(f"{src}: {error_text(problem)}", err=True)
        elif not quiet:
            click.echo(f"{src}: {problem}", err=True)

    return on_done


def _report(stats: Any, as_json: bool, quiet: bool) -> None:
    if as_json:
        click.echo(json.dumps({"frames": stats.frames, "seconds": round(stats.seconds, 3),
                               "fps": round(stats.fps, 2), "output": stats.output, "device": stats.device,
                               "model": stats.model, "precision": stats.precision,
                               "memory_format": stats.memory_format, "backend": stats.backend,
                               "temporal": stats.temporal}))
    elif not quiet:
        click.echo(f"{stats.output}: {stats.frames} frames in {stats.seconds:.1f}s ({stats.fps:.1f} fps, "
                   f"{stats.device} {numerics_label(stats.precision, stats.memory_format, stats.backend)}, "
                   f"{stats.model})", err=True)


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
@click.option("--precision", type=click.Choice(PRECISIONS), default=None,
              help="Measure only this precision (default: fp32, auto and each one the device runs natively).")
@click.option("--backend", type=click.Choice(BACKENDS), default=None,
              help="Measure only this backend (default: torch, ONNX Runtime where installed, and "
                   "torch.compile on CPUs with native bf16).")
@click.option("--json", "as_json", is_flag=True, help="Last line: one JSON object.")
@friendly
def bench(clip: str | None, device: str, batch_size: int | None, weights: str | None, preset: str | None,
          crf: int | None, size: str, seconds: float, memory: bool, precision: str | None, backend: str | None,
          as_json: bool) -> None:
    """Measure transcode-only, then model-only, pipeline and naive fps per precision, in one run."""
    from .bench import format_summary, run_bench

    _setup_logging(False)
    w, h = _size(size)
    r = run_bench(clip, device=device, batch_size=batch_size, weights=weights, preset=preset, crf=crf,
                  size=(w, h), seconds=seconds, memory=memory, precision=precision, backend=backend,
                  log=lambda s: click.echo(s, err=True))
    click.echo(format_summary(r), err=as_json)
    if as_json:
        click.echo(json.dumps(r))



def _floats(text: str | None, name: str) -> tuple[float, ...]:
    if not text:
        return ()
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise TruesightError(f"{name} takes comma-separated numbers, got {text!r}") from None


@main.command()
@click.option("--from", "source", required=True, help="A folder of sharp photos, or a high-frame-rate video.")
@click.option("--out", required=True, type=click.Path(), help="Output ROOT; pairs go to ROOT/<split>/.")
@click.option("--count", type=click.IntRange(min=1), default=100, show_default=True, help="Number of pairs.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--size", default="640x360", show_default=True, help="Pair size WxH (smaller photos keep their size).")
@click.option("--split", type=click.Choice(["train", "test"]), default="train", show_default=True,
              help="Sub-folder the pairs go to.")
@click.option("-y", "--overwrite", is_flag=True, help="Replace sequences this run would write that already exist.")
@click.option("--sharp-fraction", type=click.FloatRange(0, 1), default=0.1, show_default=True,
              help="Share of sharp->sharp pairs (no motion).")
@click.option("--max-blur", type=click.FloatRange(0, 1), default=0.027, show_default=True,
              help="Longest camera path, as a fraction of the frame diagonal (0.027: 20 px at 640x360).")
@click.option("--min-blur", type=click.FloatRange(0, 1), default=0.011, show_default=True,
              help="Shortest camera path of a moving pair (same unit; 0.011: 8 px at 640x360).")
@click.option("--substeps", type=click.FloatRange(min=0), default=4.0, show_default=True,
              help="Samples per pixel of motion (0: only 7-13 sub-frames, i.e. ghosted copies).")
@click.option("--curve", type=click.FloatRange(min=0), default=0.15, show_default=True,
              help="Bend of the camera path, as a fraction of its length (0: straight).")
@click.option("--rotation", type=click.FloatRange(min=0), default=0.25, show_default=True,
              help="Camera roll over the exposure, degrees (standard deviation).")
@click.option("--soften", type=click.FloatRange(min=0), default=0.7, show_default=True,
              help="Gaussian sigma (px) applied to photos first: a video camera's optics.")
@click.option("--object-prob", type=click.FloatRange(0, 1), default=0.3, show_default=True,
              help="Share of pairs with an object moving on its own.")
@click.option("--noise", type=click.FloatRange(min=0), default=0.1, show_default=True,
              help="Sensor noise scale, drawn per 240 fps frame (0: none).")
@click.option("--jpeg-prob", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of inputs JPEG-compressed (real GoPro inputs are not).")
@click.option("-q", "--quiet", is_flag=True)
@friendly
def synth(source: str, out: str, count: int, seed: int, size: str, split: str, sharp_fraction: float,
          max_blur: float, min_blur: float, substeps: float, curve: float, rotation: float, soften: float,
          object_prob: float, noise: float, jpeg_prob: float, overwrite: bool, quiet: bool) -> None:
    """Write synthetic GoPro-layout pairs (blur, blur_gamma, sharp) from photos or a video."""
    from .training.synth import SynthConfig, synthesize

    w, h = _size(size)
    if min_blur > max_blur:
        raise TruesightError(f"--min-blur {min_blur} is above --max-blur {max_blur}")
    cfg = SynthConfig(width=w, height=h, sharp_fraction=sharp_fraction, max_blur=max_blur, min_blur=min_blur,
                      substeps=substeps, curve=curve, rotation=rotation, soften=soften, object_prob=object_prob,
                      noise=noise, jpeg_prob=jpeg_prob)
    n = synthesize(source, out, count, seed=seed, cfg=cfg, split=split, progress=not quiet, overwrite=overwrite)
    click.echo(f"wrote {n} pairs under {Path(out) / split}", err=True)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if w < 16 or h < 16:
            raise ValueError
        return w, h
    except ValueError:
        raise TruesightError(f"--size must be WxH with sides >= 16, got {text!r}") from None


@main.command()
@click.option("--data", "data", multiple=True, required=True, help="GoPro-layout ROOT (repeat, or list several).")
@click.argument("more_data", nargs=-1)
@click.option("--out", required=True, type=click.Path(), help="Folder for checkpoints, train_log.csv and train_log.png.")
@click.option("--val", multiple=True, help="Extra validation ROOT (its test/ split if present).")
@click.option("--val-last", type=click.IntRange(min=0), default=0, show_default=True,
              help="For --data roots without a test/ split: hold out the last N frames of each sequence for validation.")
@click.option("--input", "inputs", default="blur_gamma,blur", show_default=True,
              help="Input sub-folder(s), comma-separated; each that exists is used.")
@click.option("--data-inputs", default=None,
              help="Input sub-folder per --data root, in order, overriding --input for training ('+' joins several "
                   "for one root), e.g. blur,blur_gamma to train on one root's sRGB and linear-light blur when it "
                   "is given twice.")
@click.option("--mix", default=None, help="Sampling weight per --data root, e.g. 0.5,0.5.")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Train this many steps (overrides --epochs).")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--max-minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop after this much wall-clock time (validated and saved); the cosine rate follows the "
                   "clock or the steps, whichever is further along.")
@click.option("--batch-size", type=click.IntRange(min=1), default=2, show_default=True,
              help="Crops per step per process: under torchrun each GPU trains on this many, so the global batch "
                   "is this times the number of processes (the learning rate is not scaled with it).")
@click.option("--crop", type=click.IntRange(min=16), default=256, show_default=True)
@click.option("--scale-min", type=click.FloatRange(0.25, 1.0), default=1.0, show_default=True,
              help="Shrink each crop by a random factor in [S, 1] (shorter blur, more variety; 1 = off).")
@click.option("--input-noise", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Add Gaussian noise to each input crop, sigma up to this many levels of 255 (targets stay clean).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-4, show_default=True)
@click.option("--lr-min", type=click.FloatRange(min=0), default=None, help="Cosine-decay the rate to this.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--arch", type=click.Choice(["MultiScaleStudent", "StudentCNN_v3"]), default="MultiScaleStudent",
              show_default=True, help="Student architecture (the default model's, or the six-conv student).")
@click.option("--width", type=click.IntRange(min=4), default=32, show_default=True,
              help="Channels (MultiScaleStudent: of its finest level, the others use 2x and 4x; "
                   "the shipped StudentCNN_v3 uses 96).")
@click.option("--dilations", default="1,2,4,8,4,1", show_default=True, help="StudentCNN_v3 only.")
@click.option("--unshuffle", type=click.Choice(["1", "2", "4"]), default="1", show_default=True,
              help="StudentCNN_v3 only.")
@click.option("--dc-window", type=click.IntRange(min=0), default=0, show_default=True,
              help="Remove the correction's local mean over N-pixel blocks (0 = off).")
@click.option("--alpha", type=click.FloatRange(0, 1), default=0.8, show_default=True, help="MSE vs MS-SSIM weight a.")
@click.option("--edge-weight", type=click.FloatRange(min=0), default=1.0, show_default=True, help="Sobel edge L1 weight w.")
@click.option("--ema", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="Keep an exponential moving average of the weights (decay a step, e.g. 0.998) and save it.")
@click.option("--val-every", type=click.IntRange(min=1), default=None, help="Validate every N steps (default: every epoch).")
@click.option("--init", default=None, help="Start from these weights (fine-tuning).")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="auto: bf16 autocast + channels_last on CUDA and on CPUs with native bf16 (AMX/AVX512-BF16), "
                   "else fp32.")
@click.option("--resume", is_flag=True, help="Continue exactly from OUT/last.pt (with the options it was trained with).")
@click.option("-y", "--overwrite", is_flag=True, help="Start over in an OUT that already holds a run (its checkpoints "
                                                      "and log are replaced).")
@click.option("-q", "--quiet", is_flag=True)
@friendly
def train(data: tuple[str, ...], more_data: tuple[str, ...], out: str, val: tuple[str, ...], val_last: int,
          inputs: str, data_inputs: str | None, mix: str | None, steps: int | None, epochs: int,
          max_minutes: float | None, batch_size: int, crop: int,
          scale_min: float, input_noise: float, lr: float,
          lr_min: float | None, seed: int, device: str, arch: str, width: int, dilations: str, unshuffle: str,
          dc_window: int, alpha: float,
          edge_weight: float, ema: float, val_every: int | None, init: str | None, precision: str, resume: bool,
          overwrite: bool, quiet: bool) -> None:
    """Train a student on GoPro-layout pairs (works under torchrun too)."""
    import json as _json

    from .training.train import TrainConfig, train as run_train

    _setup_logging(quiet)
    dil_values = _floats(dilations, "--dilations")
    if any(v != int(v) or v < 1 for v in dil_values):
        raise TruesightError(f"--dilations takes whole numbers >= 1, got {dilations!r}")
    dil = tuple(int(v) for v in dil_values)
    cfg = TrainConfig(data=data + more_data, out=out, val=val, inputs=tuple(inputs.split(",")),
                      data_inputs=tuple(tuple(n.strip() for n in e.split("+")) for e in data_inputs.split(","))
                      if data_inputs is not None else (),
                      mix=_floats(mix, "--mix"),
                      val_last=val_last, steps=steps, epochs=epochs, batch_size=batch_size, crop=crop,
                      scale_min=scale_min, input_noise=input_noise, lr=lr,
                      lr_min=lr_min, seed=seed, device=device, arch=arch, width=width, dilations=dil,
                      unshuffle=int(unshuffle), dc_window=dc_window,
                      alpha=alpha, edge_weight=edge_weight, ema=ema, val_every=val_every, resume=resume, overwrite=overwrite,
                      progress=not quiet, init=init, precision=precision, max_minutes=max_minutes)
    try:
        from .model import student_config
        from .training.train import arch_fields
        student_config(arch, **arch_fields(cfg))
    except ValueError as e:
        raise TruesightError(str(e)) from None
    final = run_train(cfg)
    if final:
        click.echo(_json.dumps(final))


@main.command(name="eval")
@click.option("--data", required=True, help="GoPro-layout ROOT (scores its test/ split if present, else all).")
@click.option("--weights", "--model", "weights", default=None, metavar="NAME|PATH")
@click.option("--teacher", default=None, metavar="DIR",
              help="Score the DMPHN teacher (its weights folder) instead of a student: "
                   "the teacher's gain on a synthetic set measures how real its blur is.")
@click.option("--input", "inputs", default="blur_gamma", show_default=True,
              help="Input sub-folder (blur, blur_gamma, or sharp to measure harm to sharp frames).")
@click.option("--device", default="auto", show_default=True)
@precision_option
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Score only the first N pairs.")
@click.option("--last", "last", type=click.IntRange(min=1), default=None,
              help="Score only the last N frames of each sequence (e.g. frames held out by train --val-last).")
@click.option("--save", type=click.Path(), default=None, help="Write input | output | ground truth images here.")
@temporal_option
@click.option("--json", "as_json", is_flag=True, help="Last line: one JSON object.")
@click.option("-q", "--quiet", is_flag=True)
@friendly
def evaluate(data: str, weights: str | None, teacher: str | None, inputs: str, device: str, precision: str,
             backend: str, temporal: float, limit: int | None, last: int | None, save: str | None, as_json: bool, quiet: bool) -> None:
    """Score a model (or the teacher) on blurry/sharp pairs against the input and an unsharp mask."""
    from .checkpoint import load_model, model_label
    from .engine import resolve_device
    from .numerics import choose
    from .stills import read_rgb
    from .training.data import find_pairs, holdout_last
    from .training.evaluate import evaluate_pairs, one_input_per_frame

    _setup_logging(quiet)
    if teacher is not None and weights is not None:
        raise TruesightError("--teacher and --weights each name the model to score: give one")
    if (teacher is not None and temporal > 0
            and click.get_current_context().get_parameter_source("temporal") is not click.core.ParameterSource.DEFAULT):
        raise TruesightError("--temporal filters a student's output: the teacher is scored as published, without it")
    dev = resolve_device(device)
    names = tuple(inputs.split(","))
    pairs = one_input_per_frame(find_pairs([data], names, split="test"), names)
    if last:
        pairs = holdout_last(pairs, last)[1]
    pairs = pairs[:limit]
    if teacher is not None:
        from .training.teacher import load_teacher
        model, label = load_teacher(teacher, dev), "dmphn-teacher"
        temporal = 0.0  # the teacher is scored as published: the filter is our product's
    else:
        model, label = load_model(weights, dev), model_label(weights)
    first = read_rgb(pairs[0].blurry) if pairs else None
    numerics = choose(model, dev, precision, (first.shape[1], first.shape[0]) if first is not None else (640, 360),
                      backend)
    r = evaluate_pairs(model, pairs, dev, save_dir=save, progress=not quiet, numerics=numerics, temporal=temporal)
    r = {"model": label, "input": inputs, "precision": numerics.precision, "memory_format": numerics.memory_format,
         "backend": numerics.backend, "temporal": temporal, **r}
    if not quiet:
        click.echo(f"{r['n']} pairs ({inputs}), model {r['model']} ({numerics.label}, temporal {temporal:g}):\n"
                   f"  output  PSNR {r['psnr']:.3f} dB  SSIM {r['ssim']:.4f}\n"
                   f"  input   PSNR {r['input_psnr']:.3f} dB  SSIM {r['input_ssim']:.4f}\n"
                   f"  unsharp PSNR {r['unsharp_psnr']:.3f} dB  SSIM {r['unsharp_ssim']:.4f}\n"
                   f"  gain {r['gain_db']:+.3f} dB, max colour shift {r['colour_shift']:.2f} levels"
                   + (f", flicker {r['flicker_output']:.3f} vs input {r['flicker_input']:.3f}"
                      f" (sharp frames {r['flicker_sharp']:.3f}; off the sharp frames' change: output"
                      f" {r['flicker_error_output']:.3f}, input {r['flicker_error_input']:.3f})" if "flicker_output" in r else ""),
                   err=as_json)
    if as_json:
        click.echo(json.dumps({k: (round(v, 5) if isinstance(v, float) else v) for k, v in r.items()}))


@main.command()
@click.option("--from", "sources", multiple=True, required=True,
              help="Real blurry footage: a video, an image or a folder of images (repeat for several).")
@click.option("--out", required=True, type=click.Path(), help="Output ROOT; pairs go to ROOT/train/DIST_<name>/.")
@click.option("--teacher", "teacher_dir", default=None, metavar="DIR",
              help="The DMPHN weights folder (default: $TRUESIGHT_TEACHER).")
@click.option("--every", type=click.IntRange(min=1), default=1, show_default=True, help="Use every N-th video frame.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N frames per source.")
@click.option("--max-side", type=click.IntRange(min=64), default=1280, show_default=True,
              help="Scale frames down to this longer side first (the teacher was trained on 720p).")
@click.option("--device", default="auto", show_default=True)
@click.option("-y", "--overwrite", is_flag=True, help="Replace sequences this run would write that already exist.")
@click.option("-q", "--quiet", is_flag=True)
@friendly
def teacher(sources: tuple[str, ...], out: str, teacher_dir: str | None, every: int, limit: int | None,
            max_side: int, device: str, overwrite: bool, quiet: bool) -> None:
    """Distill: write GoPro-layout pairs of real frames and the teacher's restoration of them."""
    from .engine import resolve_device
    from .training.distill import distill
    from .training.teacher import load_teacher

    _setup_logging(quiet)
    dev = resolve_device(device)
    n = distill(list(sources), out, load_teacher(teacher_dir, dev), dev, every=every, limit=limit,
                max_side=max_side, progress=not quiet, overwrite=overwrite)
    click.echo(f"wrote {n} pairs under {Path(out) / 'train'}", err=True)


@main.command()
@click.option("--width", type=int, multiple=True, help="Widths to profile (default 32,64,96).")
@click.option("--seconds", type=click.FloatRange(min=0.2), default=2.0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@friendly
def profile(width: tuple[int, ...], seconds: float, as_json: bool) -> None:
    """Params, MACs per 720p frame and CPU fps at 640x480 and 1280x720 of the student variants."""
    from .bench import profile_variants

    rows = profile_variants(width or (32, 64, 96), seconds=seconds)
    for r in rows:
        click.echo(f"{r['variant']:16s} params {r['params']:>8d}  GMACs/720p {r['gmacs_720p']:7.2f}  "
                   f"cpu fps 640x480 {r['fps_640x480']:6.2f}  1280x720 {r['fps_1280x720']:6.2f}", err=as_json)
    if as_json:
        click.echo(json.dumps(rows))



def _engine_factory(weights: str | None, device: str, precision: str, backend: str,
                    strength: float, temporal: float) -> tuple[Any, str, Any]:
    """(make_engine(frame size), model label, device) for the preview and the webcam."""
    from .checkpoint import load_model, model_label
    from .engine import Sharpener, resolve_device

    dev = resolve_device(device)
    model = load_model(weights, dev)

    def make(size: tuple[int, int]) -> Any:
        return Sharpener(model, dev, precision=precision, strength=strength, frame_size=size, backend=backend,
                         temporal=temporal)

    return make, model_label(weights), dev


@main.command()
@click.argument("clip")
@model_options
@click.option("--start", type=click.FloatRange(min=0.0), default=0.0, help="Start at T seconds.")
@click.option("--frames", type=click.IntRange(min=1), default=None, help="Preview N frames.")
@click.option("--save-png", type=click.Path(), default=None, help="Also write each original | sharpened frame here.")
@click.option("--no-window", is_flag=True, help="Headless: only --save-png output.")
@friendly
def preview(clip: str, weights: str | None, device: str, precision: str, backend: str, strength: float,
            temporal: float, start: float,
            frames: int | None, save_png: str | None, no_window: bool) -> None:
    """Play a clip with original and sharpened side by side (space pause, arrows step, s split,
    +/- strength from --strength, q quit; drag the split line with the mouse)."""
    from .preview import preview_clip, require_display

    if no_window and not save_png:
        raise TruesightError("--no-window needs --save-png DIR (nothing would be shown or saved)")
    if not no_window:
        require_display()
    make, label, _ = _engine_factory(weights, device, precision, backend, 1.0, temporal)  # the viewer blends by its strength
    n = preview_clip(clip, make, label, start=start, frames=frames, save_png=save_png, window=not no_window,
                     strength=strength)
    click.echo(f"previewed {n} frames", err=True)


@main.command()
@click.option("--source", default="0", show_default=True, help="Camera index, video file or stream URL.")
@model_options
@click.option("--record", type=click.Path(), default=None,
              help="Record the before|after view to this video (Ctrl-C ends it and keeps what was recorded).")
@click.option("-y", "--overwrite", is_flag=True, help="Overwrite an existing --record file.")
@click.option("--no-window", is_flag=True, help="Headless (use with --record).")
@click.option("--max-side", type=click.IntRange(min=16), default=None,
              help="Process at most this many pixels on the longer side (default: 640 on CPU, full size on CUDA).")
@click.option("--frames", type=click.IntRange(min=1), default=None, help="Stop after N frames.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line: frames, seconds, fps, processing size.")
@friendly
def webcam(source: str, weights: str | None, device: str, precision: str, backend: str, strength: float,
           temporal: float, record: str | None, overwrite: bool,
           no_window: bool, max_side: int | None, frames: int | None, as_json: bool) -> None:
    """Live before|after preview from a camera (or a file/stream via --source)."""
    from .preview import require_display, run_webcam

    if record:
        from .fsutil import check_output
        check_output(Path(source), Path(record), overwrite)
    if not no_window:
        require_display()
    make, label, dev = _engine_factory(weights, device, precision, backend, strength, temporal)
    side = max_side if max_side is not None else (None if dev.type == "cuda" else 640)
    st = run_webcam(source, make, label, record=record, window=not no_window, max_side=side, max_frames=frames)
    msg = {"frames": st.frames, "seconds": round(st.seconds, 2), "fps": round(st.fps, 2),
           "processing": f"{st.processing_size[0]}x{st.processing_size[1]}", "device": st.device,
           "numerics": st.numerics, "model": label, "recorded": st.recorded, "interrupted": st.interrupted}
    click.echo(json.dumps(msg) if as_json else
               f"{st.frames} frames, {st.fps:.1f} fps, processing {msg['processing']} on {st.device} "
               f"{st.numerics} ({label})" + ("; stopped, recording kept" if st.interrupted and record else ""),
               err=not as_json)


@main.command()
@click.argument("checkpoint")
@click.argument("output", type=click.Path())
@click.option("--summary", default=None, help="One-line description shown by `models`.")
@click.option("--dc-window", type=click.IntRange(min=0), default=None,
              help="Remove the correction's local mean over N-pixel blocks (keeps colours; 0 = off).")
@click.option("-y", "--overwrite", is_flag=True, help="Overwrite an existing OUTPUT.")
@friendly
def export(checkpoint: str, output: str, summary: str | None, dc_window: int | None, overwrite: bool) -> None:
    """Write a small deployable copy of a training checkpoint (no optimizer state)."""
    from .checkpoint import export_checkpoint
    from .fsutil import check_output

    check_output(Path(checkpoint), Path(output), overwrite)
    export_checkpoint(checkpoint, output, summary, dc_window=dc_window)
    click.echo(f"wrote {output}", err=True)


if __name__ == "__main__":
    main()
