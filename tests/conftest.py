"""Shared test settings."""

import os
import tempfile

import pytest
import torch

# Benchmark layers laid out during the tests are kept in a folder of the test run, not the user's cache.
os.environ["EIE_ACCEL_CACHE"] = tempfile.mkdtemp(prefix="accel-test-cache-")


@pytest.fixture()
def one_thread():
    """Small models train fastest on one thread, and far slower on busy cores with more."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
