"""One training loop, top to bottom: data -> student model -> product loss -> Adam, with validation,
CSV log, plot and checkpoints every epoch. Runs on one device or under torchrun (DDP)."""
from __future__ import annotations

import copy
import csv
import math
import os
import queue
import subprocess
import threading
import time
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist

from ..checkpoint import read_checkpoint, save_checkpoint
from ..engine import resolve_device
from ..errors import ParameterError, TruesightError, first_line
from ..model import build_student, config_fields, count_params
from ..numerics import train_numerics
from ..stills import write_rgb
from .data import (EpochSampler, Pair, add_input_noise, find_pairs, holdout_last, sample_batch, sharded_batch,
                   unique_name)
from .evaluate import evaluate_pairs, one_input_per_frame
from .losses import LossConfig, ProductLoss

log = logging.getLogger("truesight_video")
SAMPLERS = ("epoch", "random")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on; saved inside every checkpoint."""

    data: tuple[str, ...]
    out: str
    val: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ("blur_gamma", "blur")
    mix: tuple[float, ...] = ()
    # input folder(s) per --data root, in its order (empty: `inputs` for every root); one root may be
    # given twice, e.g. once with its sRGB-averaged and once with its linear-light-averaged blur
    data_inputs: tuple[tuple[str, ...], ...] = ()
    val_last: int = 0
    steps: int | None = None
    epochs: int = 30
    batch_size: int = 2  # per process: under torchrun each GPU takes this many, the global batch is x world size
    crop: int = 256
    scale_min: float = 1.0  # crops shrunk by a random factor in [scale_min, 1] (1: off)
    # Gaussian noise on each input crop, sigma drawn in [0, input_noise] levels of 255, the target kept
    # clean: tried against flicker, which it raised instead (QUALITY.md ablation log), so off by default
    input_noise: float = 0.0
    lr: float = 1e-4
    lr_min: float | None = None
    seed: int = 0
    device: str = "auto"
    arch: str = "MultiScaleStudent"  # the default model's architecture
    width: int = 32
    dilations: tuple[int, ...] = (1, 2, 4, 8, 4, 1)
    unshuffle: int = 1
    dc_window: int = 0
    alpha: float = 0.8
    edge_weight: float = 1.0
    # 0: off; else checkpoints and validation hold an exponential moving average of the weights, decay `ema`
    # a step (the optimizer trains the weights themselves, which checkpoints keep beside it for --resume)
    ema: float = 0.0
    val_every: int | None = None
    val_max: int = 12
    # a wall-clock budget: the run stops (validated and saved) once it is spent, and the cosine rate
    # follows whichever of steps and time is further along, so a run given more steps than its time
    # allows still anneals. The clock makes such a run's rate schedule, and so --resume, inexact.
    max_minutes: float | None = None
    precision: str = "auto"
    resume: bool = False
    overwrite: bool = False  # start over in an --out that already holds a run (its files are replaced)
    progress: bool = True
    init: str | None = None
    # "epoch": DistributedSampler-style, every pass over a data group reshuffled and sharded across ranks
    # (data.EpochSampler); "random": pairs drawn with replacement, the order of runs made before it.
    # --resume keeps the sampler its checkpoint was trained with.
    sampler: str = "epoch"

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ParameterError("sampler", f"must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if not self.input_noise >= 0:
            raise ParameterError("input_noise", f"must be >= 0 levels, got {self.input_noise}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ParameterError("max_minutes", f"must be > 0, got {self.max_minutes}")
        if self.mix and (min(self.mix) < 0 or not sum(self.mix) > 0):
            raise ParameterError("mix", f"takes weights >= 0 that are not all 0, got {','.join(map(str, self.mix))}")
        if self.data_inputs and (len(self.data_inputs) != len(self.data) or not all(
                isinstance(names, (tuple, list)) and names and all(names) for names in self.data_inputs)):
            raise ParameterError("data_inputs", f"needs a non-empty input folder list for each of the {len(self.data)} "
                                 f"--data roots, got {_shown(self.data_inputs)}")
        if not 0 <= self.ema < 1:
            raise ParameterError("ema", f"must be in [0, 1), got {self.ema}")
        if self.resume and self.overwrite:
            raise ParameterError("overwrite", "starts the run over, --resume continues it: give one")

    def root_inputs(self, i: int) -> tuple[str, ...]:
        """The input folders training reads from --data root i."""
        return self.data_inputs[i] if self.data_inputs else self.inputs


RUN_FILES = ("last.pt", "best.pt", "train_log.csv", "train_log.png")
# what --resume may change: how long to go on and how to show it; anything else would not continue the run
RESUME_MAY_CHANGE = {"steps", "epochs", "max_minutes", "resume", "overwrite", "progress", "device", "precision",
                     "out", "init", "sampler", "val", "val_every", "val_max"}
# what training reads from each root, however it was given (--input for all, or --data-inputs): compared
# as one, so the two spellings of the same folders resume each other
INPUT_FIELDS = {"inputs", "data_inputs"}


def _check_resume(cfg: TrainConfig, was: dict[str, Any], last: Path) -> None:
    """--resume continues a run as it was: a changed option that shapes it (rate, data, model) is an error naming it."""
    again = "resume continues a run as it was (start a new --out, with --init, to change it)"
    now = asdict(cfg)
    for name, value in now.items():
        if name in RESUME_MAY_CHANGE or name in INPUT_FIELDS or name not in was:
            continue
        old = was[name]
        if _plain(value) != _plain(old):
            flag = "--" + name.replace("_", "-")
            raise TruesightError(f"--resume: {last} was trained with {flag} {_shown(old)}, now {_shown(value)}; {again}")
    if "inputs" in was:  # saved without data_inputs (before it existed, or not given): `inputs` for every root
        before = was.get("data_inputs") or [was["inputs"]] * len(was.get("data", cfg.data))
        after = [cfg.root_inputs(i) for i in range(len(cfg.data))]
        if _plain(after) != _plain(before):
            raise TruesightError(f"--resume: {last} was trained on the input folders {_shown(before)} (per --data "
                                 f"root, --input / --data-inputs), now {_shown(after)}; {again}")


def _plain(v: Any) -> Any:
    """Tuples as lists, nested too: how a checkpoint keeps the config, so saved and current compare equal."""
    return [_plain(x) for x in v] if isinstance(v, (list, tuple)) else v


def _shown(v: Any) -> str:
    """A config value as the command line gives it: 'a,b', and 'a+b' for several inputs of one root."""
    if not isinstance(v, (list, tuple)):
        return str(v)
    return ",".join("+".join(map(str, x)) if isinstance(x, (list, tuple)) else str(x) for x in v) or "(none)"


def _load_weights(model: torch.nn.Module, ck: dict[str, Any], what: str) -> None:
    """Load a checkpoint's weights, or a one-line error saying they are not this model's."""
    try:
        model.load_state_dict(ck["state_dict"])
    except (RuntimeError, KeyError) as e:
        raise TruesightError(f"{what}: its weights do not fit a {type(model).__name__} of these settings "
                             f"({first_line(e)})") from None


def arch_fields(cfg: TrainConfig) -> dict[str, Any]:
    """cfg's values for the model config fields that its architecture takes."""
    return {name: getattr(cfg, name) for name in config_fields(cfg.arch)}


def describe(model: torch.nn.Module) -> str:
    """Short name of a student and its size, e.g. 'StudentCNN_v3 w96 u4'."""
    c = model.config
    return f"{type(model).__name__} w{c.width}" + (f" u{c.unshuffle}" if hasattr(c, "unshuffle") else "")


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def batches_for(groups: list[list[Pair]], cfg: TrainConfig, weights: list[float], rank: int,
                world: int) -> Callable[[int], tuple[torch.Tensor, torch.Tensor]]:
    """step -> this rank's (input, target) batch, from cfg.sampler, with cfg.input_noise on the inputs."""
    order = EpochSampler([len(g) for g in groups], weights, cfg.batch_size, world, cfg.seed) if cfg.sampler == "epoch" else None

    def batch_at(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        if order is None:
            x, y = sample_batch(groups, weights, cfg.batch_size, cfg.crop, cfg.seed, step, rank, cfg.scale_min)
        else:
            x, y = sharded_batch(groups, order, cfg.crop, cfg.seed, step, rank, cfg.scale_min)
        if cfg.input_noise:
            x = add_input_noise(x, cfg.input_noise, cfg.seed, step, rank)
        return x, y
    return batch_at


def _prefetch(batch_at: Callable[[int], tuple[torch.Tensor, torch.Tensor]], start: int, total: int, pin: bool,
              stop: threading.Event) -> queue.Queue:
    """A thread that builds the next batches ahead of the loop (pinned when training on CUDA)."""
    q: queue.Queue = queue.Queue(maxsize=4)

    def work() -> None:
        try:
            for step in range(start, total):
                x, y = batch_at(step)
                if pin:
                    x, y = x.pin_memory(), y.pin_memory()
                while not stop.is_set():
                    try:
                        q.put((x, y), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as e:  # surfaced in the loop
            q.put(e)

    t = threading.Thread(target=work, daemon=True, name="prefetch")
    t.start()
    q.thread = t  # type: ignore[attr-defined]
    return q


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Train loss and validation PSNR against step, drawn with OpenCV (no GUI) into a PNG."""
    import cv2
    import numpy as np

    w, h, pad = 900, 420, 60
    img = np.full((h, w, 3), 255, np.uint8)
    series = [("train_loss", (200, 80, 30))] + [(k, c) for k, c in zip(
        [k for k in rows[0] if k.endswith("_psnr") and not k.endswith("input_psnr")],
        [(30, 30, 200), (30, 150, 30), (150, 30, 150)])]
    steps = [float(r["step"]) for r in rows]
    x0, x1 = min(steps), max(steps) if max(steps) > min(steps) else min(steps) + 1
    for i, (key, colour) in enumerate(series):
        vals = [float(r[key]) for r in rows if r.get(key) not in ("", None)]
        xs = [float(r["step"]) for r in rows if r.get(key) not in ("", None)]
        if not vals:
            continue
        lo, hi = min(vals), max(vals)
        hi = hi if hi > lo else lo + 1e-9
        pts = np.array([[pad + (x - x0) / (x1 - x0) * (w - 2 * pad), h - pad - (v - lo) / (hi - lo) * (h - 2 * pad)]
                        for x, v in zip(xs, vals)], np.int32)
        cv2.polylines(img, [pts], False, colour, 2, cv2.LINE_AA)
        for pt in pts:
            cv2.circle(img, (int(pt[0]), int(pt[1])), 3, colour, -1, cv2.LINE_AA)
        cv2.putText(img, f"{key}: {vals[-1]:.4g} (range {lo:.4g}..{hi:.4g})", (pad, 20 + 18 * i),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    cv2.rectangle(img, (pad, pad), (w - pad, h - pad), (0, 0, 0), 1)
    cv2.putText(img, f"step {int(x0)}..{int(x1)}; each curve scaled to its own range", (pad, h - 20),
                cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    write_rgb(path, img[..., ::-1])


def training_data(cfg: TrainConfig) -> tuple[list[list[Pair]], dict[str, list[Pair]]]:
    """The sampling groups (one per --data root) and the validation sets, by name."""
    # a root with its own test/ split validates on it; one without (a single real sequence) gives up
    # the last --val-last frames of each sequence
    groups, val_sets = [], {}
    flag = "--data-inputs" if cfg.data_inputs else "--input"  # the option a missing folder's error names
    for i, root in enumerate(cfg.data):
        names = cfg.root_inputs(i)
        pairs = find_pairs([root], names, split="train", flag=flag)
        # a root given twice, with two inputs, validates twice: the names say which input is which
        stem = f"{Path(root).name}_{'+'.join(names)}" if cfg.data_inputs else Path(root).name
        has_test = (Path(root) / "test").is_dir()
        train_pairs, held = (pairs, []) if has_test else holdout_last(pairs, cfg.val_last)
        if not train_pairs:
            raise TruesightError(f"--val-last {cfg.val_last} leaves no training pairs in {root}")
        groups.append(train_pairs)
        if has_test:
            val_sets[unique_name(f"{stem}_test", val_sets)] = one_input_per_frame(
                find_pairs([root], names, split="test", flag=flag), names)
        elif held:
            val_sets[unique_name(f"{stem}_heldout", val_sets)] = one_input_per_frame(held, names)
    for root in cfg.val:
        val_sets[unique_name(Path(root).name, val_sets)] = one_input_per_frame(
            find_pairs([root], cfg.inputs, split="test"), cfg.inputs)
    return groups, val_sets


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Train a student; returns the final metrics. Writes checkpoints, train_log.csv and
    train_log.png directly into cfg.out."""
    from tqdm import tqdm

    ddp = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if ddp:
        backend = "nccl" if torch.cuda.is_available() and cfg.device != "cpu" else "gloo"
        dist.init_process_group(backend)
        rank, world = dist.get_rank(), dist.get_world_size()
        device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}") if backend == "nccl" else torch.device("cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)
    else:
        rank, world, device = 0, 1, resolve_device(cfg.device)
    main_rank = rank == 0
    out = Path(cfg.out)
    starting_over = not cfg.resume and (out / "last.pt").exists()
    if starting_over and not cfg.overwrite:
        raise TruesightError(f"{out} already holds a run (last.pt): --resume continues it, -y starts over there")

    groups, val_sets = training_data(cfg)
    mix = list(cfg.mix) or [1.0] * len(groups)
    if len(mix) != len(groups):
        raise TruesightError(f"--mix needs one weight per --data root ({len(groups)}), got {len(mix)}")
    n_train = sum(len(g) for g in groups)
    steps_per_epoch = max(1, math.ceil(n_train / (cfg.batch_size * world)))
    total = cfg.steps if cfg.steps is not None else cfg.epochs * steps_per_epoch
    val_every = cfg.val_every or steps_per_epoch

    torch.manual_seed(cfg.seed)
    model = build_student(cfg.arch, **arch_fields(cfg)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = ProductLoss(LossConfig(cfg.alpha, cfg.edge_weight))
    start, best, history = 0, -math.inf, []  # a run without validation scores -train_loss, which can be < -1
    if cfg.init and not cfg.resume:
        _load_weights(model, read_checkpoint(cfg.init), f"--init {cfg.init}")
    if cfg.resume:
        last = out / "last.pt"
        ck = read_checkpoint(last)
        _check_resume(cfg, ck.get("meta", {}).get("train", {}), last)
        _load_weights(model, {"state_dict": ck.get("raw_state_dict", ck["state_dict"])}, f"--resume {last}")
        opt.load_state_dict(ck["optimizer"])
        start, best = int(ck["step"]), float(ck["meta"].get("best", -math.inf))
        history = list(ck.get("history", []))
        if start >= total:
            raise TruesightError(f"--resume: {last} is already at step {start} of {total}")
        # the batches continue exactly as before only with the checkpoint's own sampler and world size
        cfg = replace(cfg, sampler=ck["meta"].get("train", {}).get("sampler", "random"))
        was = ck["meta"].get("world_size", 1)
        if was != world and main_rank:
            log.warning("--resume: %s was trained by %d processes, now %d: the data order differs from a straight run",
                        last, was, world)
    # only now, with the data and weights checked: a run that fails to start leaves --out as it was
    if main_rank:
        if starting_over:
            for old in [*out.glob("step_*.pt"), *out.glob("epoch_*.pt"), *(out / n for n in RUN_FILES)]:
                old.unlink(missing_ok=True)  # else the old run's checkpoints would sit among the new one's
        out.mkdir(parents=True, exist_ok=True)
    numerics = train_numerics(device, cfg.precision)
    if numerics.channels_last:
        model.to(memory_format=torch.channels_last)
    if ddp:
        model = torch.nn.parallel.DistributedDataParallel(model)
    raw = model.module if ddp else model
    cuda = device.type == "cuda"
    averaged = None
    if cfg.ema:
        averaged = copy.deepcopy(raw).eval()
        if cfg.resume:
            _load_weights(averaged, ck, f"--resume {last}")
        averaged.requires_grad_(False)
    shown = averaged if averaged is not None else raw  # what validation scores and checkpoints hold

    meta_base = {"arch": cfg.arch, "params": count_params(raw), "git": _git_commit(), "numerics": numerics.label,
                 "train": {k: _plain(v) for k, v in asdict(cfg).items()},
                 "train_pairs": n_train, "world_size": world}

    budget = None if cfg.max_minutes is None else 60.0 * cfg.max_minutes

    def progress(step: int) -> float:
        done = step / max(1, total)
        return done if budget is None else min(1.0, max(done, (time.perf_counter() - t_start) / budget))

    def lr_at(step: int) -> float:
        if cfg.lr_min is None:
            return cfg.lr
        return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * progress(step)))

    def out_of_time() -> bool:
        if budget is None:
            return False
        late = time.perf_counter() - t_start >= budget
        if not ddp:
            return late
        # every rank must stop at the same step, or the others wait on its all-reduce forever
        flag = torch.tensor([float(late)], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def validate(step: int, train_loss: float) -> dict[str, Any]:
        shown.eval()
        row: dict[str, Any] = {"step": step, "epoch": round(step / steps_per_epoch, 3), "train_loss": train_loss,
                               "lr": lr_at(step), "seconds": round(time.perf_counter() - t_start, 1)}
        for name, pairs in val_sets.items():
            r = evaluate_pairs(shown, pairs[: cfg.val_max], device, loss_fn=loss_fn, baseline=False)
            row.update({f"{name}_loss": r["loss"], f"{name}_psnr": r["psnr"], f"{name}_ssim": r["ssim"],
                        f"{name}_input_psnr": r["input_psnr"]})
        raw.train()
        return row

    def save(step: int, row: dict[str, Any], names: list[str]) -> None:
        extra = {"optimizer": opt.state_dict(), "step": step, "history": history}
        if averaged is not None:
            extra["raw_state_dict"] = raw.state_dict()
        meta = {**meta_base, "step": step, "metrics": row, "best": best,
                "summary": f"{describe(raw)}, step {step}" + (f", EMA {cfg.ema:g}" if averaged is not None else "")}
        for name in names:
            save_checkpoint(out / name, shown, meta=meta, extra=extra)

    stop = threading.Event()
    batches = _prefetch(batches_for(groups, cfg, mix, rank, world), start, total, cuda, stop)
    bar = tqdm(range(start, total), initial=start, total=total, unit="step", disable=not (cfg.progress and main_rank),
               dynamic_ncols=True, desc="train")
    t_start = time.perf_counter()
    running, seen = 0.0, 0
    final: dict[str, Any] = {}
    model.train()
    try:
        for step in range(start, total):
            item = batches.get()
            if isinstance(item, BaseException):
                raise item
            x, y = (t.to(device, non_blocking=True) for t in item)
            if numerics.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            with numerics.autocast(device):
                pred = model(x)
            loss = loss_fn(pred.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if averaged is not None:
                with torch.no_grad():
                    for a, w in zip(averaged.state_dict().values(), raw.state_dict().values()):
                        if a.is_floating_point():
                            a.lerp_(w, 1 - cfg.ema)
                        else:
                            a.copy_(w)
            running += loss.item()
            seen += 1
            bar.update(1)
            bar.set_postfix(loss=f"{running / seen:.4f}")
            done = step + 1
            timed_out = out_of_time()
            if done % val_every == 0 or done == total or timed_out:
                if main_rank:
                    row = validate(done, running / seen)
                    history.append(row)
                    real = [k for k in row if k.endswith("_psnr") and not k.endswith("input_psnr")]
                    score = row[real[0]] if real else -row["train_loss"]
                    names = ["last.pt", f"epoch_{done // steps_per_epoch:03d}.pt" if done % steps_per_epoch == 0
                             else f"step_{done:06d}.pt"]
                    if score > best:
                        best = score
                        names.append("best.pt")
                    save(done, row, names)
                    _write_csv(out / "train_log.csv", history)
                    _plot(history, out / "train_log.png")
                    final = row
                    bar.write(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
                running, seen = 0.0, 0
                if ddp:
                    dist.barrier()
            if timed_out:
                if main_rank:
                    bar.write(f"--max-minutes {cfg.max_minutes:g} spent: stopped at step {done} of {total}")
                break
    finally:
        stop.set()
        batches.thread.join(timeout=30)  # type: ignore[attr-defined]
        bar.close()
        if ddp:
            dist.destroy_process_group()
    return final


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)
