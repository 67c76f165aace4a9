"""The streaming pipeline: decode thread -> bounded queue -> batched model -> bounded queue -> encode
thread. Memory stays flat with clip length; the output appears only when complete."""
from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from .checkpoint import load_model, model_label
from .colour import info_spec
from .engine import Sharpener, SideBySide, cpu_workers, default_batch_size, resolve_device
from .errors import TruesightError, first_line
from .fsutil import atomic_path, check_output
from .media import Frame, VideoReader, VideoWriter
from .options import SharpenOptions

_END = object()
QUEUE_BATCHES = 3
# frames above 1440p run in overlapping tiles: on a CPU that halves peak memory at 4K at no loss of
# speed (benchmarks/RESULTS.md); at 1080p tiles would cost speed
AUTO_TILE, AUTO_TILE_ABOVE = 1024, 2560 * 1440
# On CUDA tiles cost speed (H200, 4K, batch 8: 3.7 fps in tiles of 1024, 9.9 fps whole), so frames run
# whole where the batch fits: peak GPU memory measured ~290 bytes per pixel in a batch (bench at 720p
# and 1080p, batch 8: 2,154 and 4,839 MB), kept under half of what is free.
CUDA_BYTES_PER_PIXEL = 300


def auto_tile(device_type: str, width: int, height: int, batch_size: int, free_bytes: int | None = None) -> int | None:
    """The tile size a run uses when none is asked for: None (whole frames) or AUTO_TILE."""
    if width * height <= AUTO_TILE_ABOVE:
        return None
    if device_type == "cuda" and free_bytes is not None:
        need = CUDA_BYTES_PER_PIXEL * batch_size * width * height
        return None if need <= free_bytes / 2 else AUTO_TILE
    return AUTO_TILE


@dataclass(frozen=True)
class Stats:
    """What one sharpen run did."""

    frames: int
    seconds: float
    fps: float
    output: str
    width: int
    height: int
    device: str
    model: str
    precision: str = "fp32"
    memory_format: str = "contiguous"
    backend: str = "torch"
    temporal: float = 0.0


class _Stop(Exception):
    pass


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> None:
    while True:
        if stop.is_set():
            raise _Stop
        try:
            q.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def _get(q: queue.Queue, stop: threading.Event) -> Any:
    while True:
        if stop.is_set():
            raise _Stop
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue


def sharpen_video(src: str | os.PathLike, dst: str | os.PathLike, options: SharpenOptions | None = None, *,
                  model: Any = None, on_frames: Callable[[int], None] | None = None, **values: Any) -> Stats:
    """Sharpen a clip into dst (atomically), keeping audio, subtitles, timing and colour tags.
    options (or keyword values of its fields, e.g. device="cpu", crf=20) say how; model, if given,
    is used instead of loading options.engine.weights; on_frames, if given, is called with the number
    of frames each time some are written (from the encoding thread)."""
    opts = SharpenOptions.build(options, **values)
    eng = opts.engine
    src, dst = Path(src), Path(dst)
    dev = resolve_device(eng.device)
    batch_size = eng.batch_size or default_batch_size(dev)
    check_output(src, dst, opts.overwrite)
    net = model if model is not None else load_model(eng.weights, dev)
    t0 = time.perf_counter()
    with VideoReader(src, start=opts.start, duration=opts.duration) as reader, atomic_path(dst) as tmp:
        info = reader.info
        tile = eng.tile
        if tile is None:
            free = torch.cuda.mem_get_info(dev)[0] if dev.type == "cuda" else None
            tile = auto_tile(dev.type, info.width, info.height, batch_size, free)
        # a rotated clip's pair is joined as stored so that the player's turn shows it side by side
        pair = SideBySide.for_rotation(info.rotation) if opts.side_by_side else None
        out_height, out_width = pair.size(info.width, info.height) if pair else (info.height, info.width)
        workers = cpu_workers(dev, info.width, info.height) if eng.workers is None else eng.workers
        with VideoWriter(tmp, reader.layout, opts.encode, width=out_width, height=out_height,
                         format_name=_format_for(dst.suffix)) as writer, \
                Sharpener(net, dev, precision=eng.precision, strength=eng.strength, tile=tile, workers=workers,
                          frame_size=(info.width, info.height), backend=eng.backend,
                          temporal=eng.temporal) as engine:
            frames = _run(reader, engine, writer, batch_size, pair, opts.progress,
                          _expected_frames(info, opts.start, opts.duration), on_frames)
    seconds = time.perf_counter() - t0
    return Stats(frames=frames, seconds=seconds, fps=frames / seconds if seconds else 0.0, output=str(dst),
                 width=out_width, height=out_height, device=str(dev), model=model_label(eng.weights),
                 precision=engine.numerics.precision, memory_format=engine.numerics.memory_format,
                 backend=engine.numerics.backend, temporal=eng.temporal)


def _expected_frames(info: Any, start: float, duration: float | None) -> int | None:
    """About how many frames the run will write, for the progress bar (None: unknown)."""
    rate = float(info.rate) if info.rate else None
    total = info.frames or (round(info.duration * rate) if info.duration and rate else None)
    if rate and start and total:
        total = max(0, total - round(start * rate))
    if duration is not None and rate:
        total = min(total, round(duration * rate)) if total else round(duration * rate)
    return total or None


def _run(reader: VideoReader, engine: Sharpener, writer: VideoWriter, batch_size: int,
         side_by_side: SideBySide | None, progress: bool, total: int | None, on_frames: Callable[[int], None] | None = None) -> int:
    info = reader.info
    spec = info_spec(info)
    q_in: queue.Queue = queue.Queue(maxsize=batch_size * (QUEUE_BATCHES + engine.depth))
    q_out: queue.Queue = queue.Queue(maxsize=QUEUE_BATCHES)
    stop = threading.Event()
    errors: list[BaseException] = []
    written = [0]
    bar = tqdm(total=total, unit="frame", disable=not progress, dynamic_ncols=True,
               desc=Path(info.path).name[:30], leave=False, postfix=engine.numerics.label)

    def decode() -> None:
        try:
            for item in reader:
                _put(q_in, item, stop)
            _put(q_in, _END, stop)
        except _Stop:
            pass
        except BaseException as e:  # handed to the main thread
            errors.append(e)
            stop.set()

    def encode() -> None:
        try:
            while True:
                kind, payload = _get(q_out, stop)
                if kind == "end":
                    break
                if kind == "packets":
                    for p in payload:
                        writer.mux(p)
                    continue
                frames, results = payload
                for f, planes in zip(frames, results):
                    writer.write(planes, f.pts, f.captions)
                written[0] += len(frames)
                bar.update(len(frames))
                if on_frames is not None:
                    on_frames(len(frames))
        except _Stop:
            pass
        except BaseException as e:
            errors.append(e)
            stop.set()

    threads = [threading.Thread(target=decode, name="decode", daemon=True),
               threading.Thread(target=encode, name="encode", daemon=True)]
    with logging_redirect_tqdm():  # warnings go above the progress bar, never into its line
        for t in threads:
            t.start()
        try:
            batch: list[Frame] = []
            packets: list[Any] = []
            pending: deque = deque()  # engine.depth batches stay in flight while the next is gathered

            def flush(keep: int) -> None:
                nonlocal batch, packets
                if batch:
                    pending.append((batch, engine.submit([f.planes for f in batch], spec, side_by_side=side_by_side,
                                                         out=writer.planes, fields=info.interlaced)))
                while len(pending) > keep:
                    # collect the oldest batch here, while newer ones compute: on CUDA its pinned output
                    # buffer is reused two batches later, so it must not wait in the queue un-copied
                    frames, done = pending.popleft()
                    _put(q_out, ("frames", (frames, done.result())), stop)
                if packets:
                    _put(q_out, ("packets", packets), stop)
                batch, packets = [], []

            while True:
                item = _get(q_in, stop)
                if item is _END:
                    flush(0)
                    break
                if isinstance(item, Frame):
                    batch.append(item)
                    if len(batch) == batch_size:
                        flush(engine.depth)
                else:
                    packets.append(item)
            _put(q_out, ("end", None), stop)
        except _Stop:
            pass
        except BaseException:
            stop.set()
            raise
        finally:
            # every thread polls `stop` between items, so this join is short; waiting for it (never a
            # timeout) means no thread still reads or writes a container when the caller closes it
            for t in threads:
                t.join()
            bar.close()
    if errors:
        e = errors[0]
        if isinstance(e, TruesightError):
            raise e
        raise TruesightError(f"failed while processing {info.path}: {type(e).__name__}: {first_line(e)}") from e
    return written[0]


def _format_for(suffix: str) -> str | None:
    # temp files end in .part.<ext>, so the extension still picks the muxer; webm needs naming
    return {".webm": "webm", ".mkv": "matroska", ".mov": "mov", ".mp4": "mp4", ".m4v": "mp4"}.get(suffix.lower())
