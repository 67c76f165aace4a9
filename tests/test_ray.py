"""`sharpen --ray`: a folder run as Ray tasks on a local instance, with a folder run's guarantees."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import ray
from click.testing import CliRunner

from media_factory import make_clip, video_frames
from truesight_video.checkpoint import save_checkpoint
from truesight_video.cli import main
from truesight_video.cluster import KILL_HOOK, sharpen_on_ray
from truesight_video.jobs import default_output
from truesight_video.model import StudentCNN_v3, StudentConfig
from truesight_video.options import ClusterOptions, SharpenOptions

# fp32 on the CPU: the same bits in a Ray worker (one torch thread) as in a plain run (one per frame)
FLAGS = ["--device", "cpu", "--precision", "fp32"]


@pytest.fixture(scope="module")
def address() -> str:
    """One local Ray instance for the module; the library joins it rather than starting its own."""
    ctx = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ctx.address_info["gcs_address"]
    ray.shutdown()


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def clips(folder: Path, names: str = "abc", frames: int = 12, size: tuple[int, int] = (64, 48)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(names):
        make_clip(folder / f"{n}.mkv", frames=frames + i, size=size)
    return folder


def temporary_files(*folders: Path) -> list[Path]:
    return [p for d in folders for p in d.rglob(".*")]


def assert_same_frames(a: Path, b: Path) -> None:
    fa, fb = video_frames(a), video_frames(b)
    assert len(fa) == len(fb) > 0
    for (pa, planes_a), (pb, planes_b) in zip(fa, fb):
        assert pa == pb and all((x == y).all() for x, y in zip(planes_a, planes_b))


def test_folder_matches_a_plain_run_and_a_corrupt_clip_fails_alone(address, tmp_path):
    src = clips(tmp_path / "in", "abcd")
    (src / "corrupt.mkv").write_bytes((src / "a.mkv").read_bytes()[:600])
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    plain, on_ray = tmp_path / "plain", tmp_path / "ray"
    plain.mkdir()
    on_ray.mkdir()
    r_plain = run("sharpen", src, "-o", plain, *FLAGS)
    r = run("sharpen", src, "-o", on_ray, *FLAGS, "--json", "--ray")
    assert r_plain.exit_code == r.exit_code == 1, r.output
    lines = [json.loads(line) for line in r.stdout.strip().splitlines()]
    assert sorted(Path(d["output"]).name for d in lines) == [f"{n}.sharp.mkv" for n in "abcd"]
    assert {d["frames"] for d in lines} == {12, 13, 14, 15} and all(d["fps"] > 0 for d in lines)
    assert "4 sharpened, 0 skipped, 1 failed" in r.stderr
    assert "failed:" in r.stderr and "corrupt.mkv" in r.stderr.split("failed:")[-1]
    assert sorted(p.name for p in on_ray.iterdir()) == sorted(p.name for p in plain.iterdir())
    for n in "abcd":
        assert_same_frames(on_ray / f"{n}.sharp.mkv", plain / f"{n}.sharp.mkv")
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before, "an input was touched"
    assert temporary_files(tmp_path) == []


def test_a_rerun_does_no_work(address, tmp_path, monkeypatch):
    src = clips(tmp_path / "in", "ab")
    out = tmp_path / "out"
    out.mkdir()
    r = run("sharpen", src, "-o", out, *FLAGS, "--ray", "-q")
    assert r.exit_code == 0, r.output
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    monkeypatch.setattr("truesight_video.cluster._connect", lambda _: pytest.fail("a rerun went to the cluster"))
    again = run("sharpen", src, "-o", out, *FLAGS, "--ray")
    assert again.exit_code == 0, again.output
    assert "0 sharpened, 2 skipped, 0 failed" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps


def test_a_worker_killed_mid_clip_is_retried_and_its_output_is_whole(address, tmp_path, monkeypatch):
    src = clips(tmp_path / "in", "ab", frames=16)
    plain, on_ray, markers = tmp_path / "plain", tmp_path / "ray", tmp_path / "markers"
    for d in (plain, on_ray, markers):
        d.mkdir()
    assert run("sharpen", src, "-o", plain, *FLAGS, "-q").exit_code == 0
    monkeypatch.setenv(KILL_HOOK, f"5:{markers}")  # each clip's first attempt dies after 5 of its frames
    r = run("sharpen", src, "-o", on_ray, *FLAGS, "--json", "--ray")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in markers.iterdir()) == ["a.mkv.killed", "b.mkv.killed"], "no worker was killed"
    assert sorted(json.loads(line)["frames"] for line in r.stdout.strip().splitlines()) == [16, 17]
    for n in "ab":
        assert_same_frames(on_ray / f"{n}.sharp.mkv", plain / f"{n}.sharp.mkv")
    assert temporary_files(tmp_path) == []


def test_a_clip_whose_worker_is_lost_every_time_fails_and_leaves_nothing(address, tmp_path, monkeypatch):
    src = clips(tmp_path / "in", "ab")
    out, markers = tmp_path / "out", tmp_path / "markers"
    out.mkdir()
    markers.mkdir()
    (markers / "b.mkv.killed").touch()  # only a is killed
    monkeypatch.setenv(KILL_HOOK, f"3:{markers}")
    seen = []
    jobs = [(p, default_output(p, out)) for p in sorted(src.iterdir())]
    options = SharpenOptions.build(device="cpu", precision="fp32", progress=False)
    result = sharpen_on_ray(jobs, lambda *a: seen.append(a), options, ClusterOptions(max_retries=0))
    assert [s.output for s in result.done] == [str(out / "b.sharp.mkv")]
    assert [(p.name, "lost 1 times" in str(e)) for p, e in result.failed] == [("a.mkv", True)]
    assert len(seen) == 2 and sorted(p.name for p in out.iterdir()) == ["b.sharp.mkv"]
    assert temporary_files(tmp_path) == []


def test_bad_cluster_options_are_one_line_errors(address, tmp_path):
    src = clips(tmp_path / "in", "a")
    for args, needle in ((["--ray", "nowhere"], "--ray must be auto or a cluster's HOST:PORT"),
                         (["--ray", src], "--ray took the input"),
                         (["--ray", "--device", "cuda"], "--device cuda: the Ray cluster has no GPU"),
                         (["--ray", "-o", tmp_path / "missing"], "output folder does not exist")):
        r = run("sharpen", src, *args, "-q")
        assert r.exit_code == 1 and r.stderr.strip().splitlines() == [r.stderr.strip()], r.output
        assert needle in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.mkv", "in"]


def test_an_address_where_no_cluster_answers_fails_at_once(tmp_path):
    src = clips(tmp_path / "in", "a")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.time()
    r = subprocess.run([sys.executable, "-m", "truesight_video.cli", "sharpen", str(src), "-q", "--ray",
                        f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and time.time() - t0 < 60
    assert r.stderr.strip() == f"error: --ray 127.0.0.1:{port}: no Ray cluster answers there (is `ray start " \
                               "--head` running there, and this machine one of its nodes?)"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.mkv", "in"]


def test_ctrl_c_cancels_the_tasks_and_leaves_no_temporary_file(address, tmp_path):
    src = clips(tmp_path / "in", "ab", frames=40, size=(160, 120))
    slow = tmp_path / "slow.pt"  # a full-resolution wide model: each clip takes many seconds
    save_checkpoint(slow, StudentCNN_v3(StudentConfig(width=96, unshuffle=1)))
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "truesight_video.cli", "sharpen", str(src), "-o", str(out),
                             "--weights", str(slow), *FLAGS, "-q", "--ray", address],
                            stderr=subprocess.PIPE, text=True,
                            # a background job of a non-interactive shell ignores SIGINT, and so would the child
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 90
    while time.time() < deadline and len(temporary_files(out)) < 2:
        time.sleep(0.05)  # both clips are being written
    assert len(temporary_files(out)) == 2, "the tasks never started"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert list(out.iterdir()) == [] and temporary_files(tmp_path) == []


def test_a_plain_run_never_imports_ray(tmp_path):
    src = clips(tmp_path / "in", "ab", frames=3)
    code = ("import sys; from truesight_video.cli import main\n"
            f"try: main(['sharpen', {str(src)!r}, '-q', '--device', 'cpu'])\n"
            "except SystemExit as e: assert not e.code, e.code\n"
            "assert not [m for m in sys.modules if m == 'ray' or m.startswith('ray.')], 'ray was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert sorted(p.name for p in src.iterdir()) == ["a.mkv", "a.sharp.mkv", "b.mkv", "b.sharp.mkv"]


def test_a_worker_that_inherited_an_ignored_sigint_can_still_be_cancelled():
    # Ray started from a background job gave its workers SIGINT ignored: ray.cancel's KeyboardInterrupt
    # never came, only the forced kill 30 s later, and a clip that ended meanwhile stayed after Ctrl-C
    import signal as _signal

    from truesight_video.cluster import _interruptible

    before = _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    try:
        _interruptible()
        assert _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler
    finally:
        _signal.signal(_signal.SIGINT, before)
