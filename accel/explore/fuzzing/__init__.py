"""Fuzzing the readers: mutators, targets and the campaign command (python -m accel.explore.fuzzing.campaign)."""
