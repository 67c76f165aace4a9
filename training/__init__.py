"""Training machinery: GoPro-style data, synthesis, loss, the training loop and evaluation.
Installed as `truesight_video.training`; none of it imports PyAV."""
