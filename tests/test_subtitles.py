"""Text subtitle conversion: words out of each codec, into each, and cue timing."""
from __future__ import annotations

from fractions import Fraction

from truesight_video.media.subtitles import Cues, payload, soft_break, text_of

MS = Fraction(1, 1000)


def test_words_out_of_each_codec():
    assert text_of("mov_text", b"\x00\x05hello" + b"\x00\x00\x00\x0cstyl....") == "hello"  # style box after
    assert text_of("mov_text", b"\x00\x05\xfe\xff\x00h\x00") == "h\ufffd"  # truncated UTF-16 (ran the job into the ground)
    assert text_of("ass", rb"3,0,Default,,0,0,0,,{\i1}Hi, you{\i0}\Nthere") == "Hi, you\nthere"
    assert text_of("ass", rb"0,0,Sign,,0,0,0,,{\p1}m 0 0 l 100 0 100 100{\p0}EXIT") == "EXIT"  # a drawing is no words
    assert text_of("webvtt", b"<v Bob>Tom &amp; Jerry &lt;3 <00:00:00.900><i>now</i>") == "Tom & Jerry <3 <i>now</i>"
    assert text_of("subrip", "caf\u00e9".encode()) == "caf\u00e9"


def test_an_ass_soft_break_is_a_space_unless_the_script_wraps_at_it():
    # "\\n" was taken as a new line, as "\\N" is: ASS breaks at it only in WrapStyle 2, else it is a space
    line = rb"0,0,Default,,0,0,0,,a long line \nthat wraps\Nnew line"
    assert text_of("ass", line) == "a long line that wraps\nnew line"
    assert text_of("ass", line, soft_break(b"[Script Info]\r\nWrapStyle: 2\r\n")) == "a long line\nthat wraps\nnew line"
    assert soft_break(b"[Script Info]\nWrapStyle: 0\n") == soft_break(None) == " "
    # a line's own wrap style ({\q2}, {\q0}) outranks the script's
    assert text_of("ass", rb"0,0,Default,,0,0,0,,{\b1\q2}one\ntwo") == "one\ntwo"
    assert text_of("ass", rb"0,0,Default,,0,0,0,,{\q0}one\ntwo", "\n") == "one two"


def test_words_into_each_codec():
    assert payload("mov_text", "{\\an8}<i>hello</i>") == b"\x00\x05hello"  # mov_text shows tags as written
    assert payload("subrip", "{\\an8}<i>hello</i>") == b"{\\an8}<i>hello</i>"  # SRT players read both
    # in WebVTT a bare '<' starts a tag: "Tom & Jerry < Spike" read back as "Tom & Jerry "
    assert payload("webvtt", "Tom & Jerry < Spike <i>yes</i>") == b"Tom &amp; Jerry &lt; Spike <i>yes</i>"
    long = "\u00e9" * 40000  # 80,000 bytes: mov_text counts in 16 bits, and a cut must not split a character
    body = payload("mov_text", long)
    assert int.from_bytes(body[:2], "big") == len(body) - 2 <= 65535 and body[2:].decode("utf-8")


def test_cues_without_a_duration_last_until_the_next_at_most_five_seconds():
    cues = Cues(MS, merge=False)
    out = cues.push(0, None, "one") + cues.push(400, 0, "two") + cues.push(9000, None, "three") + cues.flush()
    assert out == [(0, 400, "one"), (400, 5000, "two"), (9000, 3000, "three")]


def test_cues_that_keep_their_own_time_go_out_at_once():
    # held back until the next cue, Matroska would get them after clusters of later video
    cues = Cues(MS, merge=False)
    assert cues.push(0, 500, "a") == [(0, 500, "a")]
    assert cues.push(100, 900, "b") == [(100, 900, "b")]  # overlapping is fine where the target shows both


def test_overlapping_cues_merge_into_one_sample_per_interval():
    cues = Cues(MS, merge=True)
    out = cues.push(0, 1000, "SIGN") + cues.push(0, 300, "dialogue") + cues.push(300, 500, "more")
    out += cues.push(2000, 100, "") + cues.flush()  # an empty cue (mov_text's filler) shows nothing
    assert out == [(0, 300, "SIGN\ndialogue"), (300, 500, "SIGN\nmore"), (800, 200, "SIGN")]


def test_an_open_cue_closes_as_the_video_passes_it():
    cues = Cues(MS, merge=False)
    assert cues.push(1000, None, "early") == []
    assert cues.advance(5999) == []
    assert cues.advance(6000) == [(1000, 5000, "early")]  # at most 5 s, sent while its video is still near
    assert cues.push(18000, None, "late") == [] and cues.flush(end=20000) == [(18000, 2000, "late")]


def test_a_cue_that_starts_before_what_is_already_out_starts_there():
    # a window moved one cue to its first frame (0.52 s) and left the next at 0.51 s: time ran backwards
    cues = Cues(MS, merge=True)
    out = cues.push(520, 480, "A") + cues.push(510, 300, "B") + cues.push(900, 100, "C") + cues.flush()
    assert out == [(520, 290, "A\nB"), (810, 90, "A"), (900, 100, "A\nC")]
