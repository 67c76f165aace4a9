"""The numerics a model runs in: precision (fp32, bf16, fp16) and memory layout, chosen per device and
model from what the processor offers and, where that is not conclusive, a short timed probe."""
from __future__ import annotations

import contextlib
import copy
import logging
import os
import shutil
import time
from dataclasses import dataclass, replace

import torch
import torch.nn as nn

from .errors import ParameterError, first_line
from .options import BACKENDS, PRECISIONS, numerics_label

log = logging.getLogger("truesight_video")

MAX_DIFF_LEVELS = 0.5  # auto never picks numerics whose output strays further from fp32 (8-bit levels)
PROBE_SECONDS = 0.6  # timed rounds; with the warm-up the whole probe takes about a second
PROBE_MAX = (480, 360)  # probe on the frame size that will run, up to this: kernels' speed depends on it
MIN_GAIN = 1.2  # a candidate must beat plain fp32 by this much, or noise would flip the choice


@dataclass(frozen=True)
class Numerics:
    """What ran: precision, memory layout, and why they were chosen."""

    precision: str = "fp32"
    channels_last: bool = False
    why: str = "requested"
    backend: str = "torch"  # or "onnxruntime" (CPU, optional extra), or "compile" (torch.compile, inductor)

    @property
    def plain(self) -> bool:
        """fp32 in NCHW on torch: the path that ran before numerics could be chosen."""
        return self.precision == "fp32" and not self.channels_last and self.backend == "torch"

    @property
    def memory_format(self) -> str:
        """'channels_last' or 'contiguous' (NCHW)."""
        return "channels_last" if self.channels_last else "contiguous"

    @property
    def label(self) -> str:
        """Short form for progress lines, e.g. 'bf16 channels_last' or 'fp32 onnxruntime'."""
        return numerics_label(self.precision, self.memory_format, self.backend)

    @property
    def weight_dtype(self) -> torch.dtype:
        """fp16 converts the weights (CUDA); bf16 keeps fp32 weights under autocast."""
        return torch.float16 if self.precision == "fp16" else torch.float32

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        """The autocast context this precision runs the model in."""
        if self.precision == "bf16":
            return torch.autocast(device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()


FP32 = Numerics()


def cpu_bf16() -> str:
    """'native' (AMX or AVX512-BF16 units, or Arm BF16), 'emulated' (AVX-512 without them: oneDNN
    runs bf16 but whether it pays is unclear) or 'none' (e.g. AVX2 only: bf16 is many times slower)."""
    caps = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    if caps.get("amx_bf16") or caps.get("avx512_bf16") or caps.get("bf16") or caps.get("sve_bf16"):
        return "native"
    try:
        return "emulated" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "none"
    except (AttributeError, RuntimeError):
        return "none"


def candidates(device: torch.device, precision: str, backend: str = "auto") -> list[Numerics]:
    """The numerics worth trying for a requested precision and backend on a device, plain fp32 first."""
    from . import onnx_backend

    if precision not in PRECISIONS:
        raise ParameterError("precision", f"must be auto, fp32, bf16 or fp16, got {precision!r}")
    if backend not in BACKENDS:
        raise ParameterError("backend", f"must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "onnxruntime":
        if device.type != "cpu" or precision not in ("auto", "fp32"):
            raise ParameterError("backend", "onnxruntime runs the fp32 model on a CPU only")
        if not onnx_backend.available():
            raise ParameterError("backend", "onnxruntime is not installed: pip install \"truesight-video[onnx]\"")
        return [Numerics("fp32", False, "requested", "onnxruntime")]
    if device.type == "cuda":
        cuda = (Numerics("fp16", True, "auto: CUDA runs fp16 on its tensor cores") if precision == "auto"
                else Numerics(precision, True, "requested"))
        return [replace(cuda, backend="compile") if backend == "compile" else cuda]
    if precision == "fp16":
        raise ParameterError("precision", "fp16 runs on CUDA only; on a CPU use fp32, bf16 or auto")
    if backend == "compile":
        return [_compiled_on_cpu(precision)]
    if precision == "fp32":
        return [FP32]  # exactly the plain path: same bits as before numerics existed
    support = cpu_bf16()
    if precision == "bf16":
        if support == "none":
            log.warning("this CPU has no bf16 support (AVX2 at most): bf16 runs emulated, many times slower than fp32")
        return [Numerics("bf16", True, "requested")]
    found = [Numerics("fp32", False, "auto"), Numerics("fp32", True, "auto")]
    if support != "none" and precision == "auto":
        found.append(Numerics("bf16", True, f"auto: {support} bf16"))
    if backend == "auto" and onnx_backend.available():
        found.append(Numerics("fp32", False, "auto", "onnxruntime"))
    return found


def compiler_available() -> bool:
    """Whether a C++ compiler is on PATH: inductor builds its CPU kernels with one."""
    return any(shutil.which(c) for c in (os.environ.get("CXX", "g++"), "g++", "clang++"))


def _compiled_on_cpu(precision: str) -> Numerics:
    """torch.compile's numerics on a CPU: never picked by auto, since a first compile takes up to a minute
    per frame size (RESULTS.md), far beyond the second auto may spend; asked for, it runs bf16 where the
    CPU has bf16 units and fp32 elsewhere, without a probe, or the precision requested."""
    if not compiler_available():
        raise ParameterError("backend", "compile needs a C++ compiler on CPUs (g++ or clang++); use auto or torch")
    if precision == "auto":
        native = cpu_bf16() == "native"
        return Numerics("bf16" if native else "fp32", True,
                        f"compile: {'native' if native else 'no native'} bf16 on this CPU", "compile")
    return Numerics(precision, True, "requested", "compile")


class _Compiled:
    """torch.compile's model, whose compile failures (a broken compiler, an unsupported op) become a
    one-line error naming the backend instead of inductor's pages of traceback."""

    def __init__(self, model: nn.Module) -> None:
        self.fn = torch.compile(model)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        try:
            return self.fn(x)
        except torch._dynamo.exc.TorchDynamoException as e:
            raise ParameterError("backend", f"compile failed ({first_line(e)}); use auto or torch") from e


def prepare(model: nn.Module, device: torch.device, numerics: Numerics) -> nn.Module:
    """A copy of model on device in the chosen numerics (the caller's model is never changed)."""
    if numerics.backend == "onnxruntime":
        from .onnx_backend import OrtModel

        return OrtModel(copy.deepcopy(model).cpu())  # type: ignore[return-value]
    m = copy.deepcopy(model).to(device=device, dtype=numerics.weight_dtype).eval()
    m = m.to(memory_format=torch.channels_last) if numerics.channels_last else m
    if numerics.backend == "compile":
        log.info("compiling the model on its first frames: up to a minute per frame size on a CPU the first time, "
                 "seconds once torch's on-disk cache holds it")
        return _Compiled(m)  # type: ignore[return-value]
    return m


def run(model: nn.Module, x: torch.Tensor, numerics: Numerics) -> torch.Tensor:
    """model(x) in the chosen numerics (x already on the model's device, in its dtype)."""
    if numerics.backend == "onnxruntime":
        return model(x)
    if numerics.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with numerics.autocast(x.device):
        return model(x)


def probe_image(width: int, height: int) -> torch.Tensor:
    """A deterministic real-looking frame (gradients, hard edges, fine texture, flat areas) in [0,1]."""
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    base = torch.stack((0.2 + 0.6 * xx, 0.3 + 0.4 * yy, 0.7 - 0.5 * xx * yy))
    edges = ((xx * 9).floor() + (yy * 5).floor()) % 2 * 0.25
    texture = torch.nn.functional.avg_pool2d(torch.rand(1, 3, height, width, generator=g), 3, 1, 1)[0] * 0.2
    return (base + edges + texture - 0.1).clamp(0.0, 1.0)[None]


_CHOSEN: dict[tuple, Numerics] = {}


def choose(model: nn.Module, device: torch.device, precision: str = "auto",
           size: tuple[int, int] = (640, 360), backend: str = "auto") -> Numerics:
    """The fastest numerics for this model, device and frame size (width, height) whose output stays
    within MAX_DIFF_LEVELS of fp32; probed once per model and size in a process (about a second, plus
    a one-off ONNX export where onnxruntime is installed)."""
    found = candidates(device, precision, backend)
    if len(found) == 1:
        return found[0]
    w, h = min(size[0], PROBE_MAX[0]), min(size[1], PROBE_MAX[1])
    key = (type(model).__name__, repr(getattr(model, "config", None)), device.type, precision, backend, w, h,
           torch.get_num_threads())
    if key not in _CHOSEN:
        _CHOSEN[key] = _probe(model, device, found, w, h)
    return _CHOSEN[key]


@torch.inference_mode()
def _probe(model: nn.Module, device: torch.device, found: list[Numerics], w: int, h: int) -> Numerics:
    """Time every candidate once per round, against plain fp32 in the same round (a busy moment of a
    shared machine then hits both alike), and take each one's median speed-up; candidates whose output
    strays from fp32 are out."""
    x = probe_image(w, h).to(device)
    nets = [prepare(model, device, n) for n in found]
    outs = [run(m, x, n).float() for m, n in zip(nets, found)]  # also the warm-up
    ok = [(y - outs[0]).abs().max().item() * 255.0 <= MAX_DIFF_LEVELS for y in outs]
    ratios: list[list[float]] = [[] for _ in found]
    t_end = time.perf_counter() + PROBE_SECONDS
    while len(ratios[0]) < 3 or (time.perf_counter() < t_end and len(ratios[0]) < 9):
        times = []
        for m, n, good in zip(nets, found, ok):
            t0 = time.perf_counter()
            if good:
                run(m, x, n)
            times.append(time.perf_counter() - t0)
        for i, t in enumerate(times):
            ratios[i].append(times[0] / t if ok[i] else 0.0)
    gains = [sorted(r)[len(r) // 2] for r in ratios]
    i = max(range(len(found)), key=lambda k: gains[k])
    if gains[i] < MIN_GAIN:
        i = 0
    return Numerics(found[i].precision, found[i].channels_last,
                    f"auto: probed {len(found)} options at {w}x{h}, {gains[i]:.2f}x plain fp32", found[i].backend)


def train_numerics(device: torch.device, precision: str = "auto") -> Numerics:
    """Training numerics: bf16 autocast + channels_last on CUDA and on CPUs with native bf16 (measured
    2.6-2.9x a step on AMX, before dec1 ran in fp32), plain fp32 elsewhere; fp16 would need loss scaling, so it
    is refused."""
    if precision not in ("auto", "fp32", "bf16"):
        raise ParameterError("precision", f"for training must be auto, fp32 or bf16, got {precision!r}")
    if precision == "fp32":
        return FP32
    if precision == "bf16":
        return Numerics("bf16", True, "requested")
    if device.type == "cuda":
        return Numerics("bf16", True, "auto: CUDA")
    if cpu_bf16() == "native":
        return Numerics("bf16", True, "auto: native bf16 on this CPU")
    return Numerics("fp32", False, "auto: no native bf16 on this CPU")
