"""A temporal filter on the model's correction (output - input): where the input holds still from one
frame to the next, the correction should too. The model sees each frame alone, so on a still scene
its correction flickers with sensor noise and compression; blending it with the previous frame's
cuts that flicker and moves the output's change closer to the sharp frames' (benchmarks/QUALITY.md)."""
from __future__ import annotations

import threading

import torch
import torch.nn.functional as F

from .errors import ParameterError

# tau in levels of 255: where a pixel changed by tau the blend keeps 1/e of its weight
TAU_LEVELS = 3.0
# the gate looks at one pixel's change: a wider one (the largest change over 5x5 or 9x9) keeps the
# blend off wherever anything moved near, and cut flicker on a real pan only 0.797 -> 0.770 / 0.783
# (2026-11-29 weights)
GATE_WINDOW = 1
# the most the blend pulls a correction towards the previous one, in levels of 255: flicker from noise
# is a few levels, while a correction that changes by more at a still pixel has a reason to (something
# moved within the model's 88-px view); unlimited, the filter strayed from the model by up to 23 levels
# on a real shaking phone clip, limited it strays by at most strength x LIMIT_LEVELS
LIMIT_LEVELS: float | None = 4.0


def _local_max(d: torch.Tensor, k: int) -> torch.Tensor:
    """The largest value in a k x k square around each pixel of (B,1,H,W); separable, so cheap."""
    if k <= 1:
        return d
    p = k // 2
    d = F.max_pool2d(d, (1, k), stride=1, padding=(0, p))
    return F.max_pool2d(d, (k, 1), stride=1, padding=(p, 0))


class CorrectionFilter:
    """Frames in display order: (input, model output), each (B,3,H,W) in [0,1] -> the filtered output.

    strength (0..1) is the blend weight where the input did not change at all; 0 passes the model's
    output through. A frame of another size, or reset(), starts afresh."""

    def __init__(self, strength: float, tau: float = TAU_LEVELS, window: int = GATE_WINDOW,
                 limit: float | None = LIMIT_LEVELS) -> None:
        if not 0.0 <= strength < 1.0:
            raise ParameterError("temporal", f"must be in 0..1 (1 excluded: the correction would never change), "
                                             f"got {strength}")
        if tau <= 0:
            raise ParameterError("tau", f"must be > 0, got {tau}")
        if window < 1 or window % 2 == 0:
            raise ParameterError("window", f"must be an odd number >= 1, got {window}")
        if limit is not None and limit <= 0:
            raise ParameterError("limit", f"must be > 0 or None, got {limit}")
        self.strength, self.tau, self.window, self.limit = strength, tau, window, limit
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame."""
        self._x: torch.Tensor | None = None
        self._c: torch.Tensor | None = None

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The filtered outputs of a batch of consecutive frames, in y's dtype."""
        if self.strength == 0:
            return y
        outs = []
        for xi, yi in zip(x.float().split(1), y.float().split(1)):
            c = yi - xi
            if self._x is not None and self._x.shape == xi.shape and self._x.device == xi.device:
                d = _local_max((xi - self._x).abs_().amax(1, keepdim=True), self.window)
                w = d.mul_(255 / self.tau).square_().neg_().exp_().mul_(self.strength)
                step = self._c - c
                if self.limit is not None:
                    step.clamp_(-self.limit / 255, self.limit / 255)
                c.addcmul_(w, step)
            # x.float() is x itself for float input: keep a copy, the caller may reuse its buffer
            self._x, self._c = (xi.clone() if x.dtype == torch.float32 else xi), c
            outs.append((xi + c).clamp(0, 1))
        return torch.cat(outs).to(y.dtype)


class InOrder:
    """Runs the filter on batches that finish out of order (CPU worker threads), in the order they were
    submitted: each takes a ticket when submitted and waits its turn to filter."""

    def __init__(self, filt: CorrectionFilter) -> None:
        self.filter = filt
        self._turn = threading.Condition()
        self._next = 0  # the next ticket to hand out
        self._serving = 0  # the ticket whose turn it is

    def ticket(self) -> int:
        """Called in submission order, on the submitting thread."""
        t, self._next = self._next, self._next + 1
        return t

    def abandon(self) -> None:
        """Serve every ticket handed out (their batches were cancelled) and restart the filter."""
        with self._turn:
            self._serving = self._next
            self.filter.reset()
            self._turn.notify_all()

    def pending(self, ticket: int) -> bool:
        """Whether this ticket's turn has not passed yet."""
        with self._turn:
            return self._serving <= ticket

    def apply(self, ticket: int, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor | None:
        """Filter this batch when its turn comes; y None (the batch failed) passes the turn on and
        restarts the filter, so later batches never wait for it."""
        with self._turn:
            # earlier tickets were submitted earlier to a first-in-first-out pool, so they are running
            # or done, never queued behind this one: the wait ends
            self._turn.wait_for(lambda: self._serving == ticket)
            try:
                if y is None:
                    self.filter.reset()
                    return None
                try:
                    return self.filter(x, y)
                except BaseException:
                    self.filter.reset()  # the next batch must not blend with a frame from before this one
                    raise
            finally:
                self._serving += 1
                self._turn.notify_all()
