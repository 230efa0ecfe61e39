"""The command line's parsers as a fuzz target: drawn argument vectors get one line or only finite, in-range values."""

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accel.cli.fuzz import argv_seed, targets
from accel.explore.fuzzing.campaign import classify, failure

TARGET = targets()[0]


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    path = argv_seed(tmp_path_factory.mktemp("argv"))
    return path, TARGET.fingerprint(TARGET.read(path))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case_seed=st.integers(0, 2**32 - 1))
def test_drawn_argument_vectors_are_refused_in_one_line_or_hold_valid_numbers(seed, case_seed, tmp_path):
    path, original = seed
    case = tmp_path / "case.json"
    case.write_bytes(TARGET.mutators[0](random.Random(case_seed), path.read_bytes()))
    kind, detail = classify(TARGET, original, case)
    assert not failure(TARGET, kind), f"{json.loads(case.read_text())}: {kind} {detail}"


@pytest.mark.parametrize("argv", [["synth", "--target-mhz", "nan"], ["simulate", "Alex-7", "--pes", "4097"],
                                  ["verilog", "--pes", "257"], ["sweep", "s.toml", "--workers", "0"]])
def test_known_bad_vectors_are_clean_errors(seed, tmp_path, argv):
    case = tmp_path / "case.json"
    case.write_text(json.dumps(argv))
    assert classify(TARGET, seed[1], case) == ("clean error", "")
