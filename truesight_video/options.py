"""What a run is asked to do, as plain frozen dataclasses that validate themselves and name the bad
parameter. No heavy imports: the CLI builds these before torch or PyAV load."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .errors import ParameterError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
BACKENDS = ("auto", "torch", "onnxruntime", "compile")
# the temporal filter's blend where the picture holds still (truesight_video/temporal.py); measured in
# benchmarks/QUALITY.md ("Flicker is cheaper to fix after the model")
DEFAULT_TEMPORAL = 0.7
# x264's and x265's named presets; VP9 and AV1 encoders take a speed number instead
NAMED_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                 "placebo")


def numerics_label(precision: str, memory_format: str, backend: str) -> str:
    """How progress lines name what ran, e.g. 'bf16 channels_last', 'fp32 onnxruntime', 'bf16 compiled'."""
    if backend == "torch":
        return f"{precision} {memory_format}"
    return f"{precision} {'compiled' if backend == 'compile' else backend}"


@dataclass(frozen=True)
class EncodeSettings:
    """Encoder choice; None fields follow the input (and the output container)."""

    codec: str | None = None
    crf: int | None = None
    preset: str | None = None
    pix_fmt: str | None = None
    threads: int = 0

    def __post_init__(self) -> None:
        if self.crf is not None and not 0 <= self.crf <= 63:
            raise ParameterError("crf", f"must be in 0..63, got {self.crf}")
        if self.threads < 0:
            raise ParameterError("threads", f"must be >= 0, got {self.threads}")
        if self.preset is not None and self.preset not in NAMED_PRESETS and not re.fullmatch(r"-?\d{1,2}", self.preset):
            raise ParameterError("preset", f"must be one of {', '.join(NAMED_PRESETS)} (x264/x265) or a speed "
                                           f"number (VP9 0..8, AV1 0..13), got {self.preset!r}")


@dataclass(frozen=True)
class EngineOptions:
    """How the model runs: which weights, on which device, in which numerics, how many at once."""

    weights: str | None = None
    device: str = "auto"
    precision: str = "auto"
    backend: str = "auto"
    strength: float = 1.0
    tile: int | None = None
    batch_size: int | None = None
    workers: int | None = None
    temporal: float = DEFAULT_TEMPORAL

    def __post_init__(self) -> None:
        if not 0.0 <= self.temporal < 1.0:
            raise ParameterError("temporal", f"must be in 0..1 (1 excluded), got {self.temporal}")
        if self.precision not in PRECISIONS:
            raise ParameterError("precision", f"must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.backend not in BACKENDS:
            raise ParameterError("backend", f"must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if not 0.0 <= self.strength <= 1.0:
            raise ParameterError("strength", f"must be in 0..1, got {self.strength}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ParameterError("batch_size", f"must be >= 1, got {self.batch_size}")
        if self.workers is not None and self.workers < 1:
            raise ParameterError("workers", f"must be >= 1, got {self.workers}")
        if self.tile is not None and self.tile < 32:
            raise ParameterError("tile", f"must be >= 32, got {self.tile}")


@dataclass(frozen=True)
class SharpenOptions:
    """One sharpen job: the engine, the encoder, the time range and the output's form."""

    engine: EngineOptions = field(default_factory=EngineOptions)
    encode: EncodeSettings = field(default_factory=EncodeSettings)
    start: float = 0.0
    duration: float | None = None
    side_by_side: bool = False
    overwrite: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.start < 0:
            raise ParameterError("start", f"must be >= 0, got {self.start}")
        if self.duration is not None and self.duration <= 0:
            raise ParameterError("duration", f"must be > 0, got {self.duration}")

    @classmethod
    def build(cls, base: SharpenOptions | None = None, **values: Any) -> SharpenOptions:
        """base (or the defaults) with flat keyword values routed to the dataclass that owns each."""
        base = base or cls()
        parts: dict[str, dict[str, Any]] = {"engine": {}, "encode": {}, "": {}}
        owners = {f.name: "engine" for f in fields(EngineOptions)}
        owners.update({f.name: "encode" for f in fields(EncodeSettings)})
        owners.update({f.name: "" for f in fields(cls) if f.name not in ("engine", "encode")})
        for name, value in values.items():
            if name not in owners:
                raise TypeError(f"unknown sharpen option {name!r}")
            parts[owners[name]][name] = value
        return replace(base, engine=replace(base.engine, **parts["engine"]),
                       encode=replace(base.encode, **parts["encode"]), **parts[""])


_ADDRESS = re.compile(r"^[\w.\-\[\]:]+:\d{1,5}$")


@dataclass(frozen=True)
class ClusterOptions:
    """A folder run on Ray: which cluster, what each clip's task reserves, how often a lost one reruns."""

    address: str = "auto"  # auto: the running cluster (RAY_ADDRESS, `ray start` here) or a new local one; else HOST:PORT
    cpus: float = 1.0  # CPUs each clip's task reserves (and the threads torch uses there)
    max_retries: int = 3  # reruns of a clip whose worker or node died; a bad clip's own error is never rerun
    worker_logs: bool = True  # workers' warnings shown by the driver

    def __post_init__(self) -> None:
        if self.address != "auto" and not _ADDRESS.match(self.address):
            raise ParameterError("address", f"must be auto or a cluster's HOST:PORT (run on one of its nodes), "
                                            f"got {self.address!r}")
        if not self.cpus > 0:
            raise ParameterError("cpus", f"must be > 0, got {self.cpus}")
        if self.max_retries < 0:
            raise ParameterError("max_retries", f"must be >= 0, got {self.max_retries}")
