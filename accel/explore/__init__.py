"""Measurements above the simulators, models and RTL: sweeps, torch baselines, simulator speed."""
