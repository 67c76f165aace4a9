"""Folder runs on a Ray cluster: each clip is one Ray task that runs the ordinary pipeline on the node
that takes it (one GPU per task where the cluster has GPUs, else a CPU share). Ray schedules, places
and retries; this module only submits, watches and reports. The only module that imports ray."""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from tqdm import tqdm

from .errors import ParameterError, TruesightError, first_line
from .fsutil import remove_leftover_temps
from .jobs import BatchResult, skip_reason
from .options import ClusterOptions, SharpenOptions
from .pipeline import Stats

log = logging.getLogger("truesight_video")

# Test hook, "FRAMES:DIR": each clip's first attempt kills its worker process after FRAMES frames and
# leaves DIR/<clip name>.killed, so Ray's retry runs it whole. Forwarded to the tasks' environment
# because workers of an already running cluster never see the driver's.
KILL_HOOK = "TRUESIGHT_TEST_KILL"
REPORT_SECONDS = 0.5  # how often a task tells the board its frames, and the driver redraws
CANCEL_GRACE = 30.0  # seconds cancelled tasks get to delete their temporary files before being killed

OnDone = Callable[[Path, "Stats | None", "str | TruesightError | None"], None]


@ray.remote(num_cpus=0)
class _Board:
    """Where running tasks report, so the driver can show the whole job: clips started, frames written."""

    def __init__(self) -> None:
        self.started: set[int] = set()
        self.frames = 0

    def start(self, key: int) -> None:
        self.started.add(key)

    def add(self, frames: int) -> None:
        self.frames += frames

    def snapshot(self) -> tuple[set[int], int]:
        return set(self.started), self.frames


class _Reporter:
    """on_frames for a task: frames go to the board every REPORT_SECONDS; the kill hook fires here."""

    def __init__(self, board: Any, name: str) -> None:
        self.board, self.done, self.unsent, self.sent_at = board, 0, 0, time.monotonic()
        hook = os.environ.get(KILL_HOOK)
        self.kill_after, self.marker = None, None
        if hook:
            frames, folder = hook.split(":", 1)
            self.kill_after, self.marker = int(frames), Path(folder) / f"{name}.killed"

    def __call__(self, frames: int) -> None:
        self.done += frames
        self.unsent += frames
        if self.marker is not None and self.done >= self.kill_after and not self.marker.exists():
            self.marker.touch()
            os._exit(1)  # as a lost node would: no cleanup, the temporary file stays half-written
        if time.monotonic() - self.sent_at >= REPORT_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.unsent:
            self.board.add.remote(self.unsent)
            self.unsent, self.sent_at = 0, time.monotonic()


def _interruptible() -> None:
    """Let ray.cancel reach the task running here: it raises KeyboardInterrupt through SIGINT, which a
    worker of a Ray started from a background job inherits as ignored (then only the forced kill after
    CANCEL_GRACE stops the task, and a clip that ends within the grace is left finished)."""
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL)):
        signal.signal(signal.SIGINT, signal.default_int_handler)


@ray.remote
def _sharpen_clip(src: str, dst: str, options: SharpenOptions, model: Any, board: Any,
                  key: int) -> tuple[str, Stats | TruesightError | None]:
    """One clip on the worker that took it: ('done', Stats), ('skipped', None) or ('failed', error)."""
    import torch

    from .jobs import sharpen_one

    _interruptible()
    torch.set_num_threads(max(1, int(ray.get_runtime_context().get_assigned_resources().get("CPU", 1))))
    target = Path(dst)
    remove_leftover_temps(target)  # an earlier attempt of this clip died mid-write
    if target.exists() and not options.overwrite:
        return "skipped", None  # an earlier attempt finished it just before it was lost (or another run did)
    board.start.remote(key)
    report = _Reporter(board, Path(src).name)
    try:
        return "done", sharpen_one(Path(src), target, options, model, on_frames=report)
    except TruesightError as e:  # the clip's own fault: reported, never retried
        return "failed", e
    finally:
        report.flush()


def _answers(address: str, timeout: float = 5.0) -> bool:
    """Whether anything accepts a connection at HOST:PORT."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def _connect(cluster: ClusterOptions) -> bool:
    """Join (or, for auto with none running, start) a cluster; True when this call started Ray."""
    if ray.is_initialized():
        return False
    level = logging.WARNING if cluster.worker_logs else logging.ERROR
    address = None if cluster.address == "auto" else cluster.address  # None: RAY_ADDRESS, `ray start` here, or new
    named = address or os.environ.get("RAY_ADDRESS", "")
    if ":" in named and not _answers(named):  # ray.init would retry for minutes
        raise ParameterError("address", f"{named}: no Ray cluster answers there (is `ray start --head` running "
                                        "there, and this machine one of its nodes?)")
    try:
        ray.init(address=address, log_to_driver=cluster.worker_logs, logging_level=level)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ParameterError("address", f"{cluster.address}: cannot join the Ray cluster ({first_line(e)})") from None
    return True


def _task_shape(options: SharpenOptions, cluster: ClusterOptions) -> tuple[dict[str, Any], str]:
    """Ray resources of one clip's task and the device it runs on: its own GPU where the cluster has GPUs."""
    device = options.engine.device
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    gpus = sum(r.get("GPU", 0) for r in nodes)
    most_cpus = max((r.get("CPU", 0) for r in nodes), default=0)
    if cluster.cpus > most_cpus:
        raise ParameterError("cpus", f"{cluster.cpus:g} per clip: no node of the Ray cluster has that many "
                                     f"(the largest has {most_cpus:g})")
    if device.startswith("cuda"):
        if device != "cuda":
            raise ParameterError("device", f"{device}: on Ray each clip gets a GPU of its own; use cuda or auto")
        if not gpus:
            raise ParameterError("device", "cuda: the Ray cluster has no GPU (use cpu or auto)")
    elif device not in ("auto", "cpu"):
        raise ParameterError("device", f"{device!r} is unknown on Ray (use auto, cpu or cuda)")
    on_gpu = device == "cuda" or (device == "auto" and gpus > 0)
    # a CPU task on a GPU node is told "cpu": it must not take a GPU that Ray gave to another task
    return {"num_cpus": cluster.cpus, "num_gpus": 1 if on_gpu else 0}, "cuda" if on_gpu else "cpu"


class _CallerStdout:
    """sys.stdout during a job: the calling thread writes to stdout (e.g. --json lines), every other
    thread to stderr. Ray's driver threads print their notices ("a worker died", "the task will be
    retried") to stdout, where they would break a machine-read output."""

    def __init__(self, out: Any, err: Any) -> None:
        self._out, self._err, self._caller = out, err, threading.get_ident()

    def _stream(self) -> Any:
        return self._out if threading.get_ident() == self._caller else self._err

    def write(self, text: str) -> int:
        return self._stream().write(text)

    def flush(self) -> None:
        self._stream().flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._out, name)


def _outcome(ref: Any, retries: int) -> tuple[str, Stats | TruesightError | None]:
    """A finished task's result; a crash or a worker lost more than `retries` times fails that clip."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:  # a bug, not the clip: still only this clip fails
        cause = getattr(e, "cause", None) or e
        return "failed", TruesightError(f"{type(cause).__name__}: {first_line(cause)}")
    except ray.exceptions.RayError as e:
        return "failed", TruesightError(f"its worker was lost {retries + 1} times ({type(e).__name__}: "
                                        f"{first_line(e)})")


def _cancel(pending: list[Any]) -> None:
    """Cancel tasks and wait for them: each first gets KeyboardInterrupt (its pipeline deletes its
    temporary file), whatever still runs after CANCEL_GRACE is killed."""
    if not pending:
        return
    for ref in pending:
        ray.cancel(ref)
    _, left = ray.wait(pending, num_returns=len(pending), timeout=CANCEL_GRACE, fetch_local=False)
    for ref in left:
        ray.cancel(ref, force=True)
    if left:
        ray.wait(left, num_returns=len(left), timeout=CANCEL_GRACE, fetch_local=False)


def sharpen_on_ray(jobs: list[tuple[Path, Path]], on_done: OnDone, options: SharpenOptions,
                   cluster: ClusterOptions, model: Any = None) -> BatchResult:
    """Sharpen (input, output) jobs as Ray tasks, as sharpen_many does in one process: outputs that
    exist are skipped, each is written atomically, a lost worker's clip is rerun by Ray, a bad clip
    fails alone. Paths must mean the same on every node (shared storage)."""
    from .checkpoint import load_model

    claimed: dict[Path, Path] = {}
    todo: list[tuple[Path, Path]] = []
    skipped: list[Path] = []
    for src, dst in jobs:
        src, dst = Path(os.path.abspath(src)), Path(os.path.abspath(dst))
        if not dst.parent.is_dir():
            raise TruesightError(f"output folder does not exist: {dst.parent}")
        reason = skip_reason(src, dst, claimed, options.overwrite)
        if reason:
            skipped.append(src)
            on_done(src, None, reason)
            continue
        todo.append((src, dst))
    if not todo:
        return BatchResult([], skipped, [])
    net = model if model is not None else load_model(options.engine.weights, "cpu")  # bad weights fail here
    with contextlib.redirect_stdout(_CallerStdout(sys.stdout, sys.stderr)):
        started_ray = _connect(cluster)
        try:
            return _run(todo, skipped, on_done, options, cluster, net)
        finally:
            if started_ray:
                ray.shutdown()


def _run(todo: list[tuple[Path, Path]], skipped: list[Path], on_done: OnDone, options: SharpenOptions,
         cluster: ClusterOptions, model: Any) -> BatchResult:
    shape, device = _task_shape(options, cluster)
    task_options = replace(options, progress=False, engine=replace(options.engine, device=device))
    hook = os.environ.get(KILL_HOOK)
    remote = _sharpen_clip.options(**shape, max_retries=cluster.max_retries,
                                   **({"runtime_env": {"env_vars": {KILL_HOOK: hook}}} if hook else {}))
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
    board = _Board.options(scheduling_strategy=here).remote()
    model_ref = ray.put(model)  # once for the job: workers need no access to the weights file
    refs = {remote.remote(str(src), str(dst), task_options, model_ref, board, i): (i, src, dst)
            for i, (src, dst) in enumerate(todo)}
    done: list[Stats] = []
    failed: list[tuple[Path, TruesightError]] = []
    finished: set[int] = set()
    pending = list(refs)
    resources = ray.cluster_resources()
    bar = tqdm(total=len(todo), unit="clip", dynamic_ncols=True, disable=not options.progress, file=sys.stderr,
               desc=f"ray {resources.get('CPU', 0):g} CPU {resources.get('GPU', 0):g} GPU")
    t0 = time.perf_counter()
    snapshot = board.snapshot.remote()
    started, frames = set(), 0
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=REPORT_SECONDS, fetch_local=False)
            for ref in ready:
                key, src, dst = refs[ref]
                finished.add(key)
                status, value = _outcome(ref, cluster.max_retries)
                with tqdm.external_write_mode(file=sys.stderr):
                    if status == "done":
                        done.append(value)
                        on_done(src, value, None)
                    elif status == "skipped":
                        skipped.append(src)
                        on_done(src, None, "skipped (output exists)")
                    else:
                        failed.append((src, value))
                        on_done(src, None, value)
            if ray.wait([snapshot], timeout=0)[0]:
                try:
                    started, frames = ray.get(snapshot)
                except ray.exceptions.RayError:  # progress is best effort: the board's node may be gone
                    pass
                snapshot = board.snapshot.remote()
            elapsed = time.perf_counter() - t0
            bar.set_postfix_str(f"{len(done)} done, {len(failed)} failed, {len(started - finished)} running, "
                                f"{frames / elapsed if elapsed else 0:.1f} fps", refresh=False)
            bar.update(len(ready)) if ready else bar.refresh()
    except BaseException:
        try:
            _cancel(pending)
        except Exception as e:  # the cluster itself went away: nothing left to cancel there
            log.warning("could not cancel the remaining tasks: %s", first_line(e))
        raise
    finally:
        bar.close()
        for _, dst in todo:  # a worker killed mid-write (cancelled, or its last retry lost) leaves its temporary file
            remove_leftover_temps(dst)
        with contextlib.suppress(Exception):  # the board may have gone with its node
            ray.kill(board)
    return BatchResult(done, skipped, failed)
