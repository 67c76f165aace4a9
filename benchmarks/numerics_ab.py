"""Model-only A/B of CPU execution paths against plain fp32 eager, alternated round by round in one run:
channels_last, TorchScript freeze + oneDNN graph fusion, torch.compile (inductor), ONNX Runtime, and the
bf16 variants where the CPU has bf16 (or with --bf16 anyway). Prints fps, the median per-round ratio
to eager fp32 and the largest output difference from it in 8-bit levels."""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from truesight_video import numerics
from truesight_video.checkpoint import load_model


def _timed(fn: Callable[[], torch.Tensor], seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - t0)


def _variants(model: torch.nn.Module, x: torch.Tensor, bf16: bool) -> dict[str, Callable[[], torch.Tensor]]:
    out: dict[str, Callable[[], torch.Tensor]] = {}
    eager = numerics.prepare(model, torch.device("cpu"), numerics.FP32)
    out["fp32 eager"] = lambda: eager(x)
    cl = numerics.prepare(model, torch.device("cpu"), numerics.Numerics("fp32", True))
    xcl = x.contiguous(memory_format=torch.channels_last)
    out["fp32 channels_last"] = lambda: cl(xcl)
    def frozen_run(fusion: bool) -> Callable[[], torch.Tensor]:
        frozen = torch.jit.freeze(torch.jit.trace(numerics.prepare(model, torch.device("cpu"), numerics.FP32), x))

        def run() -> torch.Tensor:
            torch.jit.enable_onednn_fusion(fusion)  # a process-wide switch, read when the graph runs
            return frozen(x)
        return run

    out["fp32 jit.freeze"] = frozen_run(False)
    out["fp32 jit.freeze + oneDNN fusion"] = frozen_run(True)
    t0 = time.perf_counter()
    compiled = torch.compile(numerics.prepare(model, torch.device("cpu"), numerics.FP32))
    compiled(x)
    print(f"torch.compile fp32: {time.perf_counter() - t0:.0f} s to compile")
    out["fp32 torch.compile"] = lambda: compiled(x)
    try:
        ort = numerics.prepare(model, torch.device("cpu"), numerics.Numerics("fp32", False, backend="onnxruntime"))
        out["fp32 onnxruntime"] = lambda: ort(x)
    except ImportError:
        print("onnxruntime not installed: skipped")
    if bf16:
        bn = numerics.Numerics("bf16", True)
        b = numerics.prepare(model, torch.device("cpu"), bn)
        out["bf16 autocast channels_last"] = lambda: numerics.run(b, x, bn)
        bc = torch.compile(numerics.prepare(model, torch.device("cpu"), bn))

        def run_bc() -> torch.Tensor:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return bc(xcl)

        out["bf16 torch.compile channels_last"] = run_bc
    return out


@torch.inference_mode()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None, help="shipped model name or checkpoint (default: the default model)")
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the pipeline runs 1 per worker)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0, help="per variant and round")
    ap.add_argument("--bf16", action="store_true", help="also bf16 where the CPU lacks it (emulated, slow)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.split("x"))
    model = load_model(args.model, "cpu")
    x = numerics.probe_image(w, h)
    bf16 = args.bf16 or numerics.cpu_bf16() != "none"
    variants = _variants(model, x, bf16)
    ref = variants["fp32 eager"]().float()
    diff = {}
    for k, f in list(variants.items()):
        try:  # warm-up: TorchScript's profiling executor rewrites the graph on the second and third call
            for _ in range(3):
                y = f()
            diff[k] = (y.float() - ref).abs().max().item() * 255.0
        except RuntimeError as e:
            print(f"{k}: fails ({str(e).splitlines()[0]}), not measured")
            del variants[k]
    fps: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(args.rounds):
        for k, f in variants.items():
            fps[k].append(_timed(f, args.seconds))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in fps.items()))
    print(f"{args.size}, {args.threads} thread(s), cpu bf16: {numerics.cpu_bf16()}, torch {torch.__version__}")
    for k, v in fps.items():
        ratio = statistics.median(b / a for a, b in zip(fps["fp32 eager"], v))
        print(f"{k:34s} median {statistics.median(v):6.2f} fps  {ratio:.3f}x eager fp32  max diff {diff[k]:.4f} levels")


if __name__ == "__main__":
    main()
