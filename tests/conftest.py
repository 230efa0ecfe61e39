"""Shared test settings."""

import pytest
import torch


@pytest.fixture()
def one_thread():
    """Small models train fastest on one thread, and far slower on busy cores with more."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
