"""Checkpoints that carry their own config, load without running code, and the models that ship."""
from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from .errors import TruesightError, first_line
from .fsutil import atomic_path
from .model import ARCHS, UnsharpMask, build_student

FORMAT = "truesight-checkpoint"
WEIGHTS_DIR = Path(__file__).parent / "weights"
PLACEHOLDER = "unsharp-placeholder"
_DEFAULT_FILE = "default.txt"


def save_checkpoint(path: str | os.PathLike, model: nn.Module, meta: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None) -> None:
    """Atomically write a checkpoint holding the architecture config, weights and metadata."""
    payload = {
        "format": FORMAT,
        "arch": type(model).__name__,
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(model.config).items()},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": meta or {},
        **(extra or {}),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint dict with weights_only=True, so a malicious file cannot run code."""
    p = Path(path)
    if not p.is_file():
        raise TruesightError(f"weights file not found: {path}")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle errors, zip errors, refused globals
        raise TruesightError(f"cannot load weights {path}: not a safe TrueSight checkpoint ({first_line(e)[:120]})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise TruesightError(f"cannot load weights {path}: not a TrueSight checkpoint")
    if ckpt.get("arch") not in ARCHS:
        raise TruesightError(f"cannot load weights {path}: unknown architecture {ckpt.get('arch')!r}")
    return ckpt


def model_from_checkpoint(ckpt: dict[str, Any], source: str = "checkpoint") -> nn.Module:
    """Build the checkpoint's student from its arch and config, with a clear error on a mismatch."""
    try:
        model = build_student(ckpt["arch"], **dict(ckpt["config"]))
        model.load_state_dict(ckpt["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise TruesightError(f"cannot load weights {source}: wrong architecture or corrupt file ({first_line(e)[:120]})") from None
    return model.eval()


def export_checkpoint(src: str | os.PathLike, dst: str | os.PathLike, summary: str | None = None,
                      extra_meta: dict[str, Any] | None = None, dc_window: int | None = None) -> None:
    """Write a deployable copy of a training checkpoint: weights, config and metadata, without the
    optimizer state and history; dc_window (which has no weights) may be switched on here."""
    ckpt = read_checkpoint(src)
    if dc_window is not None:
        ckpt = {**ckpt, "config": {**ckpt["config"], "dc_window": dc_window}}
    model = model_from_checkpoint(ckpt, str(src))
    meta = dict(ckpt.get("meta", {}))
    meta.pop("best", None)
    if summary:
        meta["summary"] = summary
    meta.update(extra_meta or {})
    save_checkpoint(dst, model, meta=meta)


def shipped_models() -> dict[str, str]:
    """Name -> one-line description of every model that ships inside the package."""
    models = {PLACEHOLDER: "classic unsharp mask (placeholder, not a trained network)"}
    for p in sorted(WEIGHTS_DIR.glob("*.pt")):
        try:
            meta = read_checkpoint(p).get("meta", {})
        except TruesightError:
            continue
        models[p.stem] = meta.get("summary", "trained checkpoint")
    return models


def default_model_name() -> str:
    """The model `sharpen` uses when none is named."""
    f = WEIGHTS_DIR / _DEFAULT_FILE
    if f.is_file():
        name = f.read_text().strip()
        if (WEIGHTS_DIR / f"{name}.pt").is_file():
            return name
    return PLACEHOLDER


def load_model(name_or_path: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> nn.Module:
    """Load a shipped model by name, or any checkpoint by path; None means the default model."""
    name = str(name_or_path) if name_or_path is not None else default_model_name()
    if name == PLACEHOLDER:
        model: nn.Module = UnsharpMask()
    elif (WEIGHTS_DIR / f"{name}.pt").is_file() and os.sep not in name:
        model = model_from_checkpoint(read_checkpoint(WEIGHTS_DIR / f"{name}.pt"), name)
    elif Path(name).exists() or os.sep in name or name.endswith((".pt", ".pth")):
        model = model_from_checkpoint(read_checkpoint(name), name)
    else:
        known = ", ".join(shipped_models())
        raise TruesightError(f"unknown model {name!r} (shipped: {known}; or give a checkpoint path)")
    return model.to(device).eval()


def model_label(name_or_path: str | os.PathLike | None) -> str:
    """Short human name of a model choice, for progress lines and previews."""
    return Path(str(name_or_path)).stem if name_or_path else default_model_name()
