"""Looking at the result: a side-by-side clip preview and a live webcam preview. The only module
that opens OpenCV windows."""
from __future__ import annotations

import collections
import contextlib
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .compose import compose
from .engine import Sharpener
from .errors import TruesightError
from .fsutil import atomic_path
from .stills import opencv_silent, write_rgb

KEY_LEFT = {81, 2424832, 65361}
KEY_RIGHT = {83, 2555904, 65363}


def require_display() -> None:
    """OpenCV's Qt backend aborts the process without a display: fail cleanly first."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise TruesightError("no display available: use --no-window with --record (or --save-png)")


def processing_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """The internal resolution: the frame scaled so its longer side is at most max_side (even sides)."""
    if not max_side or max(width, height) <= max_side:
        return width, height
    f = max_side / max(width, height)
    return max(2, int(width * f) // 2 * 2), max(2, int(height * f) // 2 * 2)


def sharpen_rgb_frame(engine: Sharpener, rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """Sharpen the next HxWx3 uint8 frame of a stream at full strength (optionally at a smaller
    processing size), with the engine's temporal filter."""
    import cv2

    src = rgb
    if size and size != (rgb.shape[1], rgb.shape[0]):
        src = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    x = torch.from_numpy(src).permute(2, 0, 1)[None].float().div_(255.0)
    y = engine.sharpen_next(x)[0].float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).contiguous().cpu().numpy()
    if y.shape[:2] != rgb.shape[:2]:
        # upscale only the model's correction, so full-resolution detail of the input survives
        delta = y.astype(np.float32) - src.astype(np.float32)
        delta = cv2.resize(delta, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
        y = np.clip(rgb.astype(np.float32) + delta, 0, 255).round().astype(np.uint8)
    return y


def blend(before: np.ndarray, after: np.ndarray, strength: float) -> np.ndarray:
    """Strength 0..1 between the original and the full model output."""
    if strength >= 1.0:
        return after
    return (before.astype(np.float32) + strength * (after.astype(np.float32) - before)).round().astype(np.uint8)


@dataclass
class ViewState:
    """What the viewer shows: layout, split position, strength, pause."""

    mode: str = "side"
    split: float = 0.5
    strength: float = 1.0
    paused: bool = False
    quit: bool = False


def handle_key(state: ViewState, key: int) -> str | None:
    """Apply one key press; returns 'back'/'forward' for steps while paused."""
    if key in (ord("q"), 27):
        state.quit = True
    elif key == ord(" "):
        state.paused = not state.paused
    elif key == ord("s"):
        state.mode = "split" if state.mode == "side" else "side"
    elif key in (ord("+"), ord("=")):
        state.strength = min(1.0, round(state.strength + 0.1, 2))
    elif key in (ord("-"), ord("_")):
        state.strength = max(0.0, round(state.strength - 0.1, 2))
    elif key in KEY_LEFT and state.paused:
        return "back"
    elif key in KEY_RIGHT and state.paused:
        return "forward"
    elif key == ord("a"):
        state.split = max(0.0, state.split - 0.05)
    elif key == ord("d"):
        state.split = min(1.0, state.split + 0.05)
    return None


EngineFactory = Callable[[tuple[int, int]], Sharpener]  # (width, height) that will run -> engine


def preview_clip(path: str, make_engine: EngineFactory, label: str, start: float = 0.0, frames: int | None = None,
                 save_png: str | None = None, window: bool = True, strength: float = 1.0) -> int:
    """Play original | sharpened in a window at the clip's rate, dropping display frames (never
    decoding) when the machine cannot keep up; strength is where the +/- keys start. Returns the
    number of frames processed."""
    import cv2

    from .media import iter_rgb_timed, probe

    if window:
        require_display()
    info = probe(path)
    engine = make_engine(info.display_size)
    if save_png:
        Path(save_png).mkdir(parents=True, exist_ok=True)
    history: collections.deque = collections.deque(maxlen=120)
    latest: list[Any] = [None]
    done = threading.Event()
    lock = threading.Lock()
    want_more = threading.Event()
    want_more.set()
    state = ViewState(strength=strength)
    errors: list[BaseException] = []
    fps_meter = [0.0]

    def worker() -> None:
        try:
            t_prev = time.perf_counter()
            for i, (rgb, t, rate) in enumerate(iter_rgb_timed(path, start)):
                if frames is not None and i >= frames:
                    break
                while state.paused and not want_more.is_set() and not state.quit:
                    time.sleep(0.01)
                if state.paused:
                    want_more.clear()  # one step granted, wait for the next
                if state.quit:
                    break
                out = sharpen_rgb_frame(engine, rgb)
                now = time.perf_counter()
                fps_meter[0] = 0.8 * fps_meter[0] + 0.2 / max(now - t_prev, 1e-6) if fps_meter[0] else 1 / max(now - t_prev, 1e-6)
                t_prev = now
                with lock:
                    history.append((rgb, out, t, rate))
                    latest[0] = len(history) - 1
                if save_png:
                    img = compose(rgb, blend(rgb, out, state.strength), "side",
                                  info=f"t={t:.2f}s {label} strength {state.strength:.1f}")
                    write_rgb(Path(save_png) / f"frame_{i:06d}.png", img, durable=False)
        except BaseException as e:
            errors.append(e)
        finally:
            done.set()

    th = threading.Thread(target=worker, daemon=True, name="preview")
    th.start()
    shown = 0
    if window:
        os.environ.setdefault("QT_LOGGING_RULES", "default.warning=false")  # Qt's missing-font chatter
        name = "TrueSight preview (space pause, s split, +/- strength, q quit)"
        cv2.namedWindow(name, cv2.WINDOW_NORMAL)
        sized = False

        def on_mouse(event: int, x: int, y: int, flags: int, param: Any) -> None:
            if state.mode == "split" and (event == cv2.EVENT_MOUSEMOVE and flags & cv2.EVENT_FLAG_LBUTTON
                                          or event == cv2.EVENT_LBUTTONDOWN):
                with lock:
                    if history:
                        state.split = x / history[-1][0].shape[1]

        cv2.setMouseCallback(name, on_mouse)
        cursor = None
        next_due = time.perf_counter()
        while not state.quit:
            with lock:
                if cursor is None or not state.paused:
                    cursor = latest[0]
                item = history[cursor] if cursor is not None and history else None
            if item is not None:
                rgb, out, t, rate = item
                info = f"{label} | {engine.device.type} {engine.numerics.label} | {fps_meter[0]:.1f} fps | strength {state.strength:.1f} | t={t:.2f}s" + (" | paused" if state.paused else "")
                view = compose(rgb, blend(rgb, out, state.strength), state.mode, state.split, info=info)
                if not sized:
                    cv2.resizeWindow(name, view.shape[1], view.shape[0])
                    sized = True
                cv2.imshow(name, view[..., ::-1])
                shown += 1
                next_due += 1.0 / float(rate or 25)
            key = cv2.waitKeyEx(max(1, int((next_due - time.perf_counter()) * 1000)))
            step = handle_key(state, key) if key != -1 else None
            if step == "back" and cursor:
                cursor -= 1
            elif step == "forward":
                with lock:
                    if cursor is not None and cursor < len(history) - 1:
                        cursor += 1
                    else:
                        want_more.set()
                        cursor = None
            if done.is_set() and not state.paused and latest[0] == cursor:
                state.paused = True  # hold the last frame until the user quits
            if cv2.getWindowProperty(name, cv2.WND_PROP_VISIBLE) < 1:
                break
        state.quit = True
        cv2.destroyAllWindows()
    th.join()
    engine.close()
    if errors:
        raise errors[0]
    return len(history) if frames is None else min(len(history), frames)


def open_source(source: str) -> Any:
    """cv2.VideoCapture for a camera index, file or stream URL, with clear errors."""
    import cv2

    is_index = source.isdigit()
    if not is_index and "://" not in source and not Path(source).exists():
        raise TruesightError(f"webcam source not found: {source}")
    with opencv_silent():  # our one-line error says it all
        cap = cv2.VideoCapture(int(source)) if is_index else cv2.VideoCapture(source)
    if not cap.isOpened():
        cap.release()
        if is_index:
            raise TruesightError(f"no camera at index {source} (or it is busy)")
        raise TruesightError(f"unsupported webcam source: {source}")
    return cap


@dataclass(frozen=True)
class WebcamStats:
    """What a webcam session did."""

    frames: int
    seconds: float
    fps: float
    processing_size: tuple[int, int]
    recorded: str | None
    device: str = "cpu"
    numerics: str = "fp32 contiguous"
    interrupted: bool = False  # stopped by Ctrl-C or kill (the recording is still finished and kept)


def run_webcam(source: str, make_engine: EngineFactory, label: str, record: str | None = None, window: bool = True,
               max_side: int | None = None, max_frames: int | None = None,
               on_frame: Callable[[int, float], None] | None = None) -> WebcamStats:
    """Live before|after: a camera always gives the newest frame (stale ones dropped); a file source
    processes every frame. Optional recording of the comparison through the media module."""
    import cv2

    from .media import RgbWriter

    if window:
        require_display()
    cap = open_source(source)
    is_camera = source.isdigit()
    ok, first = cap.read()
    if not ok or first is None:
        cap.release()
        raise TruesightError(f"cannot read from {'camera ' + source if is_camera else source} (busy or empty)")
    h, w = first.shape[:2]
    proc = processing_size(w, h, max_side)
    try:
        engine = make_engine(proc)
    except BaseException:
        cap.release()
        raise
    rate = cap.get(cv2.CAP_PROP_FPS) or 25.0
    rate = rate if 1 <= rate <= 240 else 25.0
    newest: list[Any] = [first]
    cond = threading.Condition()
    stop = threading.Event()

    def grab() -> None:  # cameras only: keep just the newest frame
        while not stop.is_set():
            ok2, f = cap.read()
            with cond:
                newest[0] = f if ok2 else None
                cond.notify()
            if not ok2:
                return

    grabber = threading.Thread(target=grab, daemon=True, name="grab") if is_camera else None
    if grabber is not None:
        grabber.start()
    name = "TrueSight webcam (q quit)"
    if window:
        os.environ.setdefault("QT_LOGGING_RULES", "default.warning=false")
    n, t0, fps, frame = 0, time.perf_counter(), 0.0, first
    interrupted = False
    try:
        with contextlib.ExitStack() as stack:
            writer = None
            if record:  # closed (finished) before atomic_path renames it; an error removes it
                tmp = stack.enter_context(atomic_path(record))
                writer = stack.enter_context(RgbWriter(tmp, rate, 2 * w, h))
            try:  # Ctrl-C (or kill) is how a headless camera recording stops: finish the file, keep it
                while True:
                    if n > 0:
                        if is_camera:
                            with cond:
                                cond.wait(timeout=1.0)
                                frame = newest[0]
                        else:
                            ok, frame = cap.read()
                            frame = frame if ok else None
                    if frame is None or (max_frames is not None and n >= max_frames):
                        break
                    rgb = np.ascontiguousarray(frame[..., ::-1])
                    t1 = time.perf_counter()
                    out = sharpen_rgb_frame(engine, rgb, proc)
                    step = 1.0 / max(time.perf_counter() - t1, 1e-6)
                    fps = step if n == 0 else 0.9 * fps + 0.1 * step
                    info = (f"{label} | {engine.device.type} {engine.numerics.label} | {fps:.1f} fps | "
                            f"processing {proc[0]}x{proc[1]}")
                    img = compose(rgb, out, "side", info=info)
                    if writer is not None:
                        writer.write(img)
                    n += 1
                    if on_frame is not None:
                        on_frame(n - 1, fps)
                    if window:
                        cv2.imshow(name, img[..., ::-1])
                        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                            break
            except KeyboardInterrupt:
                interrupted = True
    finally:
        stop.set()
        if grabber is not None:
            grabber.join(timeout=2.0)  # a read in flight ends within a frame; release only after it
        cap.release()
        engine.close()
        if window:
            cv2.destroyAllWindows()
    secs = time.perf_counter() - t0
    return WebcamStats(n, secs, n / secs if secs else 0.0, proc, record, str(engine.device), engine.numerics.label,
                       interrupted)
