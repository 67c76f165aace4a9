#!/usr/bin/env bash
# Every set of QUALITY.md's Results table for one set of weights, one JSON line per set:
#   DATA=/path/to/sets bash benchmarks/eval_sets.sh WEIGHTS
# DATA holds syntest, other2, other, val_gopro_like and val_gopro_like_720, made by the commands in QUALITY.md's
# "Validation sets" (syntest, other2 and other with synth as of commit f9701b5, as it says there);
# the real pairs are ../shared/data/gopro-sample.
set -eu
W=${1:?weights: a shipped model name or a checkpoint}
DATA=${DATA:?the folder holding the synthetic validation sets}
G=${G:-../shared/data/gopro-sample}
e() { echo "$1 $(truesight-video eval --weights "$W" --device cpu --precision fp32 --json -q "${@:2}" | tail -1)"; }
e real_heldout --data "$G" --input blur --last 12
e no_harm --data "$G" --input sharp --last 12
e flicker_all42 --data "$G" --input blur
e syntest_gamma --data "$DATA/syntest" --input blur_gamma
e syntest_blur --data "$DATA/syntest" --input blur
e other2 --data "$DATA/other2" --input blur
e nearly_sharp --data "$DATA/other" --input blur
e gopro_like --data "$DATA/val_gopro_like" --input blur
e gopro_like_720 --data "$DATA/val_gopro_like_720" --input blur
# The same two sets averaged in linear light (blur_gamma): the other way blurry training data is made
e gopro_like_linear --data "$DATA/val_gopro_like" --input blur_gamma
e gopro_like_720_linear --data "$DATA/val_gopro_like_720" --input blur_gamma
