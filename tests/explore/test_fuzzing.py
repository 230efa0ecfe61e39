"""A quick property-based subset of the fuzz campaign: no reader crashes or silently changes a model."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accel.explore.fuzzing.campaign import classify, failure
from accel.explore.fuzzing.targets import targets

TARGETS = {target.name: target for target in targets()}


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    """Each target's original input and its fingerprint, made once."""
    made = {}
    for name, target in TARGETS.items():
        folder = tmp_path_factory.mktemp(name.replace(" ", "_").replace(",", ""))
        path = target.seed(folder)
        made[name] = (path, target.fingerprint(target.read(path)), folder)
    return made


@pytest.mark.parametrize("name", list(TARGETS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case_seed=st.integers(0, 2**32 - 1))
def test_mutated_inputs_get_a_clean_error_or_the_same_content(seeds, name, case_seed):
    target = TARGETS[name]
    path, original, folder = seeds[name]
    rng = random.Random(case_seed)
    if target.mutate_path is not None:
        case = target.mutate_path(rng, path, folder / f"case{case_seed}")
    else:
        case = folder / f"case{path.suffix}"
        case.write_bytes(rng.choice(target.mutators)(rng, path.read_bytes()))
    kind, detail = classify(target, original, case)
    assert not failure(target, kind), f"{name}: {kind} {detail}"


def test_the_classification_catches_careless_readers(tmp_path):
    from accel.explore.fuzzing.targets import Target

    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")

    def careless(file):
        data = file.read_bytes()
        return data[0]  # IndexError on an empty file, a different value on a changed first byte

    target = Target("careless", lambda folder: path, [], careless, lambda value: value, different_allowed=False)
    assert classify(target, ord("a"), path) == ("accepted-identical", "")
    path.write_bytes(b"xbc")
    assert classify(target, ord("a"), path)[0] == "accepted-different" and failure(target, "accepted-different")
    path.write_bytes(b"")
    kind, detail = classify(target, ord("a"), path)
    assert kind == "uncaught" and detail.startswith("IndexError") and failure(target, kind)
