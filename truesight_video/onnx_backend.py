"""An optional ONNX Runtime backend for CPUs (`pip install "truesight-video[onnx]"`): the model is
exported to ONNX once per input shape and run by ONNX Runtime, which on AVX2-only CPUs runs these
students faster than eager torch (benchmarks/RESULTS.md). Output matches torch within 0.001 levels."""
from __future__ import annotations

import importlib.util
import io
import threading
import warnings
from typing import Any

import torch
import torch.nn as nn

from .errors import ParameterError


def available() -> bool:
    """Whether onnxruntime (to run) and onnx (for torch's exporter) are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


class OrtModel:
    """Calls like the model it wraps (float32 NCHW on the CPU in, same out), run by ONNX Runtime."""

    def __init__(self, model: nn.Module) -> None:
        if not available():
            raise ParameterError("backend", "onnxruntime needs the onnx extra: pip install \"truesight-video[onnx]\"")
        self.model = model.float().eval()
        self._graphs: dict[tuple[int, ...], bytes] = {}
        self._sessions: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def _graph(self, shape: tuple[int, ...]) -> bytes:
        # exported per shape (a few seconds, once): the traced graph fixes each shape's padding arithmetic
        with self._lock:
            if shape not in self._graphs:
                buf = io.BytesIO()
                with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the tracer's notes on shape-dependent Python branches
                    torch.onnx.export(self.model, (torch.zeros(shape),), buf, input_names=["x"], output_names=["y"],
                                      opset_version=17, dynamo=False)
                self._graphs[shape] = buf.getvalue()
            return self._graphs[shape]

    def _session(self, shape: tuple[int, ...]) -> Any:
        # one session per calling thread: each runs with that thread's share of the cores
        key = (shape, threading.get_ident(), torch.get_num_threads())
        sess = self._sessions.get(key)
        if sess is None:
            import onnxruntime as ort

            ort.disable_telemetry_events()  # newer Linux builds carry Microsoft's 1DS telemetry: keep it quiet
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = torch.get_num_threads()
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            sess = ort.InferenceSession(self._graph(shape), opts, providers=["CPUExecutionProvider"])
            self._sessions[key] = sess
        return sess

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.detach().float().contiguous().cpu()
        shape = tuple(x.shape)
        return torch.from_numpy(self._session(shape).run(None, {"x": x.numpy()})[0])
