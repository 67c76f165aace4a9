"""`truesight-video bench`: transcode-only, model-only, pipeline and naive fps measured in one run."""
from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import torch

from .checkpoint import load_model, model_label
from .colour import info_spec
from .engine import Sharpener, cpu_workers, default_batch_size, resolve_device
from .media import Frame, VideoReader, VideoWriter, transcode, write_test_clip
from .options import DEFAULT_TEMPORAL, EncodeSettings
from .pipeline import sharpen_video


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def naive(src: Path, dst: Path, engine: Sharpener, settings: EncodeSettings) -> int:
    """One thread, batch 1: decode -> model -> encode, frame by frame."""
    n = 0
    with VideoReader(src) as reader, VideoWriter(dst, reader.layout, settings) as writer:
        info = reader.info
        spec = info_spec(info)
        for item in reader:
            if not isinstance(item, Frame):
                writer.mux(item)
                continue
            (planes,) = engine.submit([item.planes], spec, out=writer.planes).result()
            writer.write(planes, item.pts)
            n += 1
    return n


def model_only(src: Path, engine: Sharpener, batch_size: int, max_frames: int = 200,
               min_seconds: float = 3.0) -> tuple[int, float]:
    """Frames already decoded in memory; time only colour conversion + model on the device, with
    as many batches in flight as the pipeline keeps."""
    with VideoReader(src) as reader:
        info = reader.info
        spec = info_spec(info)
        frames = [f.planes for f in reader if isinstance(f, Frame)][:max_frames]
    engine.submit(frames[:batch_size], spec).result()  # warm-up
    if engine.cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    pending: deque = deque()
    n = 0
    while n < len(frames) or time.perf_counter() - t0 < min_seconds:  # long enough to average out noise
        for i in range(0, len(frames), batch_size):
            pending.append(engine.submit(frames[i:i + batch_size], spec))
            while len(pending) > engine.depth:
                pending.popleft().result()
            n += len(frames[i:i + batch_size])
    while pending:
        pending.popleft().result()
    return n, time.perf_counter() - t0


def rss_of_run(clip: Path, out: Path, device: str, batch_size: int, weights: str | None) -> float:
    """Peak RSS (MB) of a fresh process sharpening clip into out, so runs do not share a high-water mark."""
    code = ("import resource,sys;from truesight_video.pipeline import sharpen_video;"
            "sharpen_video(sys.argv[1],sys.argv[2],device=sys.argv[3],batch_size=int(sys.argv[4]),"
            "weights=sys.argv[5] or None,progress=False,overwrite=True);"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)")
    res = subprocess.run([sys.executable, "-c", code, str(clip), str(out), device, str(batch_size), weights or ""],
                         capture_output=True, text=True, check=True)
    return float(res.stdout.strip().splitlines()[-1])


def precisions_to_run(device: torch.device) -> list[tuple[str, str]]:
    """The (precision, backend) requests bench compares: plain fp32 first, then auto, every reduced
    precision the device runs natively (or, for bf16 on AVX-512 without bf16 units, might run well),
    ONNX Runtime where it is installed, and torch.compile in bf16 where the CPU has bf16 units (its
    first compile is not timed: the model-only warm-up takes it and later runs reuse it)."""
    from . import onnx_backend
    from .numerics import compiler_available, cpu_bf16

    if device.type == "cuda":
        return [("fp32", "torch"), ("auto", "auto"), ("fp16", "torch"), ("bf16", "torch")]
    support = cpu_bf16()
    found = [("fp32", "torch"), ("auto", "auto")] + ([("bf16", "torch")] if support != "none" else [])
    found += [("fp32", "onnxruntime")] if onnx_backend.available() else []
    return found + ([("bf16", "compile")] if support == "native" and compiler_available() else [])


def run_bench(clip: str | None, device: str = "auto", batch_size: int | None = None, weights: str | None = None,
              preset: str | None = None, crf: int | None = None, size: tuple[int, int] = (640, 360),
              seconds: float = 5.0, memory: bool = False, precision: str | None = None,
              backend: str | None = None, log: Any = print) -> dict[str, Any]:
    """Measure transcode-only once, then model-only, pipeline and naive fps for each precision and
    backend the device supports (or only the one asked for), on one clip with the same settings;
    ratios against plain fp32."""
    from .numerics import choose

    dev = resolve_device(device)
    batch_size = batch_size or default_batch_size(dev)
    settings = EncodeSettings(preset=preset, crf=crf)
    with tempfile.TemporaryDirectory(prefix="truesight-bench-") as tmp:
        tmpd = Path(tmp)
        if clip is None:
            src = tmpd / "bench.mp4"
            write_test_clip(src, size[0], size[1], seconds)
            log(f"generated {size[0]}x{size[1]} {seconds:g}s H.264 clip")
        else:
            src = Path(clip)
        ext = src.suffix
        model = load_model(weights, dev)
        with VideoReader(src) as reader:
            info = reader.info
        frame = (info.width, info.height)
        workers = cpu_workers(dev, info.width, info.height)
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        n_t, t_t = _timed(lambda: transcode(src, tmpd / f"t{ext}", settings))
        transcode_fps = n_t / t_t
        log(f"transcode-only: {transcode_fps:.1f} fps")
        runs: dict[str, dict[str, Any]] = {}
        asked = precision or backend
        requests = [(precision or "auto", backend or "auto")] if asked else precisions_to_run(dev)
        for request, engine_backend in requests:
            numerics = choose(model, dev, request, frame, engine_backend)
            if numerics.label in runs:
                continue  # auto chose what another request already measured
            # every engine runs the temporal filter, as sharpen does by default
            with Sharpener(model, dev, precision=request, workers=workers, frame_size=frame,
                           backend=engine_backend, temporal=DEFAULT_TEMPORAL) as engine:
                n_m, t_m = model_only(src, engine, batch_size)
            stats = sharpen_video(src, tmpd / f"p{ext}", model=model, weights=weights, device=str(dev),
                                  precision=request, backend=engine_backend, batch_size=batch_size, preset=preset,
                                  crf=crf, progress=False, overwrite=True)
            with Sharpener(model, dev, precision=request, frame_size=frame, backend=engine_backend,
                           temporal=DEFAULT_TEMPORAL) as one:
                n_n, t_n = _timed(lambda: naive(src, tmpd / f"n{ext}", one, settings))
            model_fps, naive_fps = n_m / t_m, n_n / t_n
            ideal = 1.0 / (1.0 / model_fps + 1.0 / transcode_fps)
            runs[numerics.label] = {
                "request": request, "precision": numerics.precision, "memory_format": numerics.memory_format,
                "backend": numerics.backend,
                "why": numerics.why, "model_fps": round(model_fps, 2), "pipeline_fps": round(stats.fps, 2),
                "naive_fps": round(naive_fps, 2), "serial_ideal_fps": round(ideal, 2),
                "pipeline_vs_ideal": round(stats.fps / ideal, 3),
                "pipeline_vs_transcode": round(stats.fps / transcode_fps, 3),
                "pipeline_vs_naive": round(stats.fps / naive_fps, 3),
            }
            log(f"{numerics.label:24s} model-only {model_fps:6.1f} fps  pipeline {stats.fps:6.1f} fps  "
                f"naive {naive_fps:6.1f} fps")
        base = runs.get("fp32 contiguous")
        if base:
            for r in runs.values():
                r["model_vs_fp32"] = round(r["model_fps"] / base["model_fps"], 3)
                r["pipeline_vs_fp32"] = round(r["pipeline_fps"] / base["pipeline_fps"], 3)
        auto = choose(model, dev, precision or "auto", frame, backend or "auto").label
        result: dict[str, Any] = {
            "device": str(dev), "width": info.width, "height": info.height, "frames": stats.frames,
            "model": model_label(weights), "batch_size": batch_size, "threads": torch.get_num_threads(),
            "workers": workers, "transcode_fps": round(transcode_fps, 2),
            **{k: v for k, v in runs[auto].items() if k not in ("request", "why")},
            "precisions": runs, "peak_rss_mb": round(_peak_rss_mb(), 1),
        }
        if dev.type == "cuda":
            result["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        if memory:
            short, long_ = tmpd / "m5.mp4", tmpd / "m40.mp4"
            write_test_clip(short, size[0], size[1], 5)
            write_test_clip(long_, size[0], size[1], 40)
            r5 = rss_of_run(short, tmpd / "o5.mp4", str(dev), batch_size, weights)
            r40 = rss_of_run(long_, tmpd / "o40.mp4", str(dev), batch_size, weights)
            result.update(rss_5s_mb=round(r5, 1), rss_40s_mb=round(r40, 1), rss_ratio_40s_5s=round(r40 / r5, 3))
            log(f"peak RSS 5 s clip {r5:.0f} MB, 40 s clip {r40:.0f} MB (ratio {r40 / r5:.3f})")
    return result


def format_summary(r: dict[str, Any]) -> str:
    """Human-readable ratios: per precision, and the default (auto) run's against the codec and naive."""
    lines = [f"{r['device']} {r['width']}x{r['height']} {r['frames']} frames, model {r['model']}, "
             f"batch {r['batch_size']}, {r['workers']} model worker(s) x {r['threads'] // r['workers']} thread(s)"]
    for label, p in r["precisions"].items():
        vs = (f", model {p['model_vs_fp32']:.2f}x / pipeline {p['pipeline_vs_fp32']:.2f}x fp32"
              if "model_vs_fp32" in p else "")
        lines.append(f"{label}: pipeline / serial ideal {p['pipeline_vs_ideal']:.3f}x, / naive "
                     f"{p['pipeline_vs_naive']:.3f}x, / transcode-only {p['pipeline_vs_transcode']:.3f}x{vs}")
    lines.append(f"default (auto) runs {r['precision']} {r['memory_format']} on {r['backend']}; peak RSS {r['peak_rss_mb']:.0f} MB"
                 + (f", peak GPU {r['peak_gpu_mb']:.0f} MB" if "peak_gpu_mb" in r else ""))
    return "\n".join(lines)


def profile_variants(widths: tuple[int, ...], seconds: float = 2.0) -> list[dict[str, Any]]:
    """Params, MACs per 720p frame and CPU fps (fp32, all threads) at 640x480 and 1280x720 of
    StudentCNN_v3 at each width and unshuffle factor, and of MultiScaleStudent at its shipped width."""
    from .model import MultiScaleConfig, MultiScaleStudent, StudentCNN_v3, StudentConfig, count_macs, count_params

    variants: list[tuple[str, torch.nn.Module]] = [
        (f"w{w} u{f}", StudentCNN_v3(StudentConfig(width=w, unshuffle=f))) for f in (1, 2, 4) for w in widths]
    variants.append(("multiscale w32", MultiScaleStudent(MultiScaleConfig(width=32))))
    rows = []
    for name, m in variants:
        m.eval()
        row: dict[str, Any] = {"variant": name, "arch": type(m).__name__, "width": m.config.width,
                               "unshuffle": getattr(m.config, "unshuffle", 2), "params": count_params(m),
                               "gmacs_720p": round(count_macs(m) / 1e9, 3), "threads": torch.get_num_threads()}
        for wh in ((640, 480), (1280, 720)):
            x = torch.rand(1, 3, wh[1], wh[0])
            with torch.inference_mode():
                m(x)
                n, t0 = 0, time.perf_counter()
                while time.perf_counter() - t0 < seconds or n < 2:
                    m(x)
                    n += 1
            row[f"fps_{wh[0]}x{wh[1]}"] = round(n / (time.perf_counter() - t0), 2)
        rows.append(row)
    return rows
