"""Runs the model on batches of frames: host planes -> device -> RGB -> model -> YUV -> host planes.

On CUDA the input goes through pinned host buffers and a side copy stream, double-buffered, so the
next batch uploads while this one computes; results come back through pinned buffers behind a CUDA
event, so nothing on the hot path calls synchronize(). On a CPU, batches can run on worker threads,
each with its share of the cores, several frames at once."""
from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .colour import ColourSpec, OutputPlanes, luma_excess, rgb_to_yuv, yuv_to_rgb
from .errors import ParameterError
from .model import run_tiled, tile_overlap
from .numerics import choose, prepare, run
from .temporal import CorrectionFilter, InOrder

Planes = tuple[np.ndarray, ...]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """'auto' picks CUDA when present; 'cuda' without a GPU is an error."""
    name = str(device or "auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError("device", f"{name}: no CUDA GPU is available (use cpu or auto)")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ParameterError("device", f"{name!r} is unknown (use auto, cpu or cuda)") from None


def default_batch_size(device: torch.device) -> int:
    """Batches pay on a GPU; on a CPU (measured with `bench`) they only add cache pressure."""
    return 8 if device.type == "cuda" else 1


CPU_WORKERS_MAX_PIXELS = 1280 * 720


def cpu_workers(device: torch.device, width: int, height: int) -> int:
    """Frames sharpened at once on a CPU. Up to 720p two frames on half the cores each beat one frame
    on all of them (many small ops wait less at each op's thread barrier); above it the ops are big
    enough to share well, and a second frame only costs memory (benchmarks/RESULTS.md)."""
    if device.type == "cuda" or width * height > CPU_WORKERS_MAX_PIXELS:
        return 1
    return min(2, torch.get_num_threads())


def _cudnn_autotune() -> contextlib.AbstractContextManager:
    """cuDNN picks its fastest kernels once per frame size, only inside the engine's own calls."""
    b = torch.backends.cudnn
    return b.flags(enabled=b.enabled, benchmark=True, deterministic=b.deterministic, allow_tf32=b.allow_tf32)


def _to_signed(a: np.ndarray) -> np.ndarray:
    # torch has no general uint16 kernels; 10/12-bit codes fit in int16.
    return a.view(np.int16) if a.dtype == np.uint16 else a


class _Pending:
    """A batch whose results may still be in flight on the GPU."""

    def __init__(self, outputs: Sequence[torch.Tensor], event: "torch.cuda.Event | None", n: int, wide: bool) -> None:
        self.outputs, self.event, self.n, self.wide = outputs, event, n, wide

    def result(self) -> list[Planes]:
        if self.event is not None:
            self.event.synchronize()
        arrays = [t.numpy()[: self.n].copy() for t in self.outputs]
        if self.wide:
            arrays = [a.view(np.uint16) for a in arrays]
        return [tuple(a[i] for a in arrays) for i in range(self.n)]


class _Running:
    """A batch computing on a CPU worker thread."""

    def __init__(self, future: "Future[_Pending]") -> None:
        self.future = future

    def result(self) -> list[Planes]:
        return self.future.result().result()


@dataclass(frozen=True)
class SideBySide:
    """How original and sharpened frames are joined as stored, so that a player, turning the picture by the
    clip's rotation, shows original | sharpened (not stacked, or sharpened first)."""

    rows: bool = False  # joined top to bottom: a clip a player turns a quarter
    sharp_first: bool = False

    @classmethod
    def for_rotation(cls, rotation: int) -> "SideBySide":
        """The join for a display rotation (counterclockwise degrees, as VideoInfo.rotation)."""
        k = round(rotation / 90) % 4
        return cls(rows=k % 2 == 1, sharp_first=k in (2, 3))

    def step(self, h: int, w: int) -> int:
        """Where the second picture starts along the join: the first one's size made even, so both start on a
        whole chroma sample (4:2:x) and no chroma sample mixes the two."""
        n = h if self.rows else w
        return n + n % 2

    def size(self, w: int, h: int) -> tuple[int, int]:
        """(height, width) of the joined frame."""
        return (2 * self.step(h, w), w) if self.rows else (h, 2 * self.step(h, w))

    def join(self, original: torch.Tensor, sharp: torch.Tensor) -> torch.Tensor:
        """The two pictures (B,C,H,W) as one, each padded to the step by repeating its last line."""
        h, w = original.shape[-2:]
        gap = self.step(h, w) - (h if self.rows else w)
        pair = (sharp, original) if self.sharp_first else (original, sharp)
        if gap:
            pad = (0, 0, 0, gap) if self.rows else (0, gap, 0, 0)
            pair = tuple(F.pad(p, pad, mode="replicate") for p in pair)
        return torch.cat(pair, dim=-2 if self.rows else -1)

    def halves(self, t: torch.Tensor, h: int, w: int, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Views of the first and second picture (h x w) of a joined plane whose second starts at step."""
        if self.rows:
            return t[..., :h, :], t[..., step:step + h, :]
        return t[..., :w], t[..., step:step + w]


class Sharpener:
    """Applies a model to batches of YUV planes (video) or RGB tensors (stills, preview).

    With workers > 1 (CPU only) submit() hands each batch to one of that many threads, each running
    torch on its share of the cores; keep `depth` batches in flight to use them all, and close() the
    engine (or use it in a `with`) to stop the threads and give torch its thread count back.

    With temporal > 0 the frames of submit() (and of sharpen_next()) are one clip in display order,
    and each frame's correction is blended with the previous frame's where the input held still
    (truesight_video/temporal.py); sharpen_rgb() always treats its frames alone."""

    def __init__(self, model: nn.Module, device: torch.device, *, precision: str = "auto",
                 strength: float = 1.0, tile: int | None = None, workers: int = 1,
                 frame_size: tuple[int, int] = (640, 360), backend: str = "auto", temporal: float = 0.0) -> None:
        if not 0.0 <= strength <= 1.0:
            raise ParameterError("strength", f"must be in 0..1, got {strength}")
        self._order = InOrder(CorrectionFilter(temporal)) if temporal else None
        if workers < 1 or (workers > 1 and device.type == "cuda"):
            raise ParameterError("workers", f"must be 1 on CUDA and >= 1 on a CPU, got {workers}")
        self.device = device
        self.cuda = device.type == "cuda"
        # the numerics are probed before worker threads split the cores, on the frame size that will run
        self.numerics = choose(model, device, precision, frame_size, backend)
        self.dtype = self.numerics.weight_dtype
        self.model = prepare(model, device, self.numerics)  # a copy: the caller's model is left as it was
        if self.cuda:
            self.copy_stream = torch.cuda.Stream(device)
        self.strength = strength
        self.overlap = tile_overlap(model)
        self.tile = None
        if tile:
            f = getattr(getattr(model, "config", None), "align", 1)
            self.tile = max(tile, 2 * self.overlap + 8 * f) // f * f
            if self.tile <= 2 * self.overlap:
                raise ParameterError("tile", f"{tile} is too small for this model (overlap {self.overlap})")
        self._slots: dict[int, dict[str, object]] = {}
        self._k = 0
        self.depth = workers
        self._pool: ThreadPoolExecutor | None = None
        self._threads = torch.get_num_threads()
        if workers > 1:
            # torch's thread count is per calling thread here: each worker sets its own share
            share = max(1, self._threads // workers)
            self._pool = ThreadPoolExecutor(workers, thread_name_prefix="model",
                                            initializer=torch.set_num_threads, initargs=(share,))

    def close(self) -> None:
        """Stop the worker threads, if any, and restore torch's thread count."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            torch.set_num_threads(self._threads)
        if self._order is not None:
            self._order.abandon()  # cancelled batches hold tickets no one will serve

    def __enter__(self) -> "Sharpener":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @torch.inference_mode()
    def sharpen_rgb(self, x: torch.Tensor) -> torch.Tensor:
        """Sharpen float RGB (B,3,H,W) in [0,1] on the engine's device; returns x's dtype."""
        x = x.to(self.device)
        xm = x.to(self.dtype)
        with _cudnn_autotune() if self.cuda else contextlib.nullcontext():
            if self.tile:
                y = run_tiled(lambda t: run(self.model, t, self.numerics), xm, self.tile, self.overlap)
            else:
                y = run(self.model, xm, self.numerics)
        if self.strength < 1.0:
            # the blend adds the model's correction to the input as given, not as rounded for the model:
            # fp16 holds 8-bit codes exactly but not 12-bit ones, and strength 0 must give the input back
            return x + self.strength * (y.to(x.dtype) - xm.to(x.dtype))
        return y.to(x.dtype)

    def sharpen_next(self, x: torch.Tensor) -> torch.Tensor:
        """Sharpen the next frames of a stream (float RGB (B,3,H,W) in [0,1]), in order, with the
        temporal filter when the engine has one; the caller runs one call at a time."""
        y = self.sharpen_rgb(x)
        if self._order is None:
            return y
        x = x.to(y.device)  # before the ticket: a ticket taken must be served
        return self._order.apply(self._order.ticket(), x, y)

    def _host_buffers(self, batch: Sequence[Planes], out_shapes: Sequence[tuple[int, ...]],
                      out_dtype: torch.dtype) -> dict[str, object]:
        slot = self._slots.get(self._k % 2)
        b = len(batch)
        key = (b, tuple(p.shape for p in batch[0]), batch[0][0].dtype.str, tuple(out_shapes), out_dtype)
        if slot is None or slot["key"] != key:
            dt = torch.int16 if batch[0][0].dtype == np.uint16 else torch.uint8
            slot = {
                "key": key,
                "in": [torch.empty((b, *p.shape), dtype=dt, pin_memory=True) for p in batch[0]],
                "out": [torch.empty((b, *s), dtype=out_dtype, pin_memory=True) for s in out_shapes],
                "done": None,
            }
            self._slots[self._k % 2] = slot
        elif slot["done"] is not None:
            slot["done"].synchronize()  # the previous batch in this slot has finished with it
        return slot

    def submit(self, batch: Sequence[Planes], spec: ColourSpec, side_by_side: "bool | SideBySide" = False,
               out: OutputPlanes | None = None, fields: bool = False) -> "_Pending | _Running":
        """Start sharpening a batch of frames; .result() gives their planes, in `out`'s bit depth and
        chroma layout (default: the input's). With side_by_side the output is original | sharpened,
        twice as wide (or as SideBySide says, for a rotated clip); with fields (interlaced video) each field
        is sharpened as a picture of its own."""
        side_by_side = side_by_side if isinstance(side_by_side, SideBySide) else SideBySide() if side_by_side else None
        ticket = self._order.ticket() if self._order is not None else None
        if self._pool is not None:
            try:
                return _Running(self._pool.submit(self._submit, batch, spec, side_by_side, out, fields, ticket))
            except BaseException:
                if ticket is not None:
                    self._order.apply(ticket, None, None)  # never queued: pass its turn on
                raise
        return self._submit(batch, spec, side_by_side, out, fields, ticket)

    def _sharpen_fields(self, rgb: torch.Tensor) -> torch.Tensor:
        """The two fields of interlaced frames sharpened apart: they were exposed at different times,
        so across them the model would take the comb of moving edges for detail."""
        out = torch.empty_like(rgb)
        for k in (0, 1):
            out[..., k::2, :] = self.sharpen_rgb(rgb[..., k::2, :]).to(rgb.dtype)
        return out

    @torch.inference_mode()
    def _submit(self, batch: Sequence[Planes], spec: ColourSpec, side_by_side: SideBySide | None,
                out: OutputPlanes | None, fields: bool = False, ticket: int | None = None) -> _Pending:
        try:
            return self._convert(batch, spec, side_by_side, out, fields, ticket)
        finally:
            if ticket is not None and self._order.pending(ticket):
                self._order.apply(ticket, None, None)  # it failed before its turn: pass the turn on

    def _convert(self, batch: Sequence[Planes], spec: ColourSpec, sbs: SideBySide | None,
                 out: OutputPlanes | None, fields: bool, ticket: int | None) -> _Pending:
        h, w = batch[0][0].shape
        hc, wc = batch[0][1].shape
        oh, ow = sbs.size(w, h) if sbs else (h, w)
        div = out.chroma_div if out else (-(-h // hc), -(-w // wc))
        out_spec = replace(spec, bits=out.bits) if out else spec
        ohc, owc = -(-oh // div[0]), -(-ow // div[1])  # odd sizes round up
        out_shapes = [(oh, ow), (ohc, owc), (ohc, owc)]
        wide = out_spec.bits > 8
        dt = torch.int16 if wide else torch.uint8
        if self.cuda:
            slot = self._host_buffers(batch, out_shapes, dt)
            for dst, i in zip(slot["in"], range(3)):
                dst.copy_(torch.from_numpy(np.stack([_to_signed(f[i]) for f in batch])))
            with torch.cuda.stream(self.copy_stream):
                planes = [t.to(self.device, non_blocking=True) for t in slot["in"]]
                uploaded = torch.cuda.Event()
                uploaded.record(self.copy_stream)
            torch.cuda.current_stream(self.device).wait_event(uploaded)
            for t in planes:
                t.record_stream(torch.cuda.current_stream(self.device))
        else:
            planes = [torch.from_numpy(np.stack([_to_signed(f[i]) for f in batch])) for i in range(3)]
        y, u, v = (p.to(torch.int32) for p in planes)
        rgb = yuv_to_rgb(y, u, v, spec)
        sharp = self._sharpen_fields(rgb) if fields else self.sharpen_rgb(rgb)
        if ticket is not None:
            sharp = self._order.apply(ticket, rgb, sharp)
        if sbs:
            sharp = sbs.join(rgb.to(sharp.dtype), sharp)
        oy, ou, ov = rgb_to_yuv(sharp, out_spec, (ohc, owc))
        step = sbs.step(h, w) if sbs else 0
        excess = luma_excess(y, spec) if out_spec == spec else None
        if excess is not None:
            # the RGB step clamps limited-range video's super-whites and below-blacks (to 235 / 16 where the
            # model changed nothing): put back how far beyond the range each input code lay; a few ms a frame
            for half in (sbs.halves(oy, h, w, step) if sbs else (oy,)):
                half += excess
            oy.clamp_(0, spec.max_code)
        d = (div[0] if sbs.rows else div[1]) if sbs else 1
        if sbs and out_spec == spec and (-(-h // div[0]), -(-w // div[1])) == (hc, wc) and step % d == 0:
            # the same planes in as out: keep the original picture bit-exact (4:1:1 of a width that is not a
            # multiple of 4 starts the second picture mid-sample: there the converted planes are right)
            for o, i, (ph, pw), k in zip((oy, ou, ov), (y, u, v), ((h, w), (hc, wc), (hc, wc)), (1, d, d)):
                sbs.halves(o, ph, pw, step // k)[sbs.sharp_first].copy_(i)
        results = [p.to(dt) for p in (oy, ou, ov)]
        if not self.cuda:
            return _Pending(results, None, len(batch), wide)
        self._k += 1  # next pinned slot; only the CUDA path (one caller thread) uses slots
        for dst, src in zip(slot["out"], results):
            dst.copy_(src, non_blocking=True)
        done = torch.cuda.Event()
        done.record()
        slot["done"] = done
        return _Pending(slot["out"], done, len(batch), wide)
