"""Fuzz campaign: drive every reader with mutated inputs and tabulate what each input got.

    python -m accel.cli.fuzz --inputs 100000 --out reports/reliability     (make fuzz: these readers and the
                                                                            command line's parsers)

Each input is classified (see accel.explore.fuzzing.targets): clean error, accepted-identical,
accepted-different, invalid (accepted but breaks an invariant, or refused by the oracle), disagrees
(the oracle reads other content), uncaught, slow (over TIME_LIMIT_S), over memory (peak resident
memory above MEMORY_BOUND_BYTES), warned (a warning, which the command line would print as a second
line). Failing inputs are kept under ``OUT/findings/`` to reproduce. The table goes to
``OUT/fuzz.json`` and ``OUT/fuzz.md``."""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from accel.arch.errors import UserError
from accel.explore.fuzzing.mutate import BYTE_MUTATORS
from accel.explore.fuzzing.outcomes import KINDS, MEMORY_BOUND_BYTES, MEMORY_LIMIT_BYTES, TIME_LIMIT_S, markdown
from accel.explore.fuzzing.targets import Target, targets


class Slow(BaseException):
    """Raised by the alarm when one input takes longer than the time limit."""


def _alarm(signum: int, frame: object) -> None:
    raise Slow()


def classify(target: Target, original: object, path: Path) -> tuple[str, str]:
    """(kind, detail) of reading ``path`` with the target's reader, and with its oracle when it has one.

    With an oracle: the reader accepting what the oracle refuses is ``invalid``; the two accepting
    different contents, or the reader refusing what the oracle accepts, is ``disagrees``. A reader that
    warns (a second line on stderr for the command line) is ``warned``.
    """
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            try:
                result = target.read(path)
            except UserError:
                refused = True
            else:
                refused, fingerprint = False, target.fingerprint(result)
        if warned:  # on the command line a warning is a second line on stderr
            return "warned", f"{warned[0].category.__name__}: {str(warned[0].message)[:160]}"
        verdict = None if target.oracle is None else target.oracle(path)
        if refused:
            if isinstance(verdict, tuple):
                return "disagrees", "refused, but the oracle reads it"
            return "clean error", ""
        if isinstance(verdict, str):
            return "invalid", f"accepted, but the oracle {verdict[:200]}"
        if verdict is not None and verdict != fingerprint:
            return "disagrees", "accepted with other content than the oracle reads"
        if fingerprint == original:
            return "accepted-identical", ""
        if target.check is not None:
            try:
                target.check(result)
            except (AssertionError, UserError) as error:
                return "invalid", f"{type(error).__name__}: {str(error)[:200]}"
        return "accepted-different", ""
    except Slow:
        return "slow", ""
    except Exception as error:  # noqa: BLE001 - what the campaign is looking for
        return "uncaught", f"{type(error).__name__}: {str(error)[:200]}"
    finally:
        signal.alarm(0)


def failure(target: Target, kind: str) -> bool:
    return kind in ("uncaught", "slow", "invalid", "disagrees", "over memory", "warned") or (
        kind == "accepted-different" and not target.different_allowed)


def _resident(field: str) -> int:
    """A line of /proc/self/status in bytes (VmRSS: resident now, VmHWM: the peak since the last reset)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def measured(read: Callable[[], tuple[str, str]]) -> tuple[str, str, int]:
    """``read()``'s result and the memory it took: the peak resident set above the one before (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # resets VmHWM to the current resident set
    except OSError:
        kind, detail = read()
        return kind, detail, 0
    before = _resident("VmRSS")
    kind, detail = read()
    return kind, detail, max(0, _resident("VmHWM") - before)


def run_target(target: Target, inputs: int, seed: int, work: Path, findings: Path, progress_every: int,
               report: Callable[[dict], None]) -> dict:
    """Classify ``inputs`` mutated inputs; ``report`` receives the row so far at every progress step."""
    folder = work / target.name.replace(" ", "_").replace(",", "")
    folder.mkdir(parents=True)
    seed_path = target.seed(folder)
    original = target.fingerprint(target.read(seed_path))
    rng = random.Random(f"{target.name}/{seed}")
    counts: Counter[str] = Counter()
    details: Counter[str] = Counter()
    slowest = 0.0
    heaviest, heaviest_kind = 0, ""
    start = time.monotonic()
    data = seed_path.read_bytes() if seed_path.is_file() else b""
    for index in range(inputs):
        if target.mutate_path is not None:
            case = target.mutate_path(rng, seed_path, folder / "case")
        else:
            mutator = rng.choice(target.mutators)
            mutated = data
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                try:
                    mutated = mutator(rng, mutated)
                except Exception:  # noqa: BLE001 - a structure-aware mutator cannot parse an earlier mutation
                    mutated = rng.choice(BYTE_MUTATORS)(rng, mutated)
            case = folder / f"case{seed_path.suffix}"
            case.write_bytes(mutated)
        began = time.monotonic()
        kind, detail, memory = measured(lambda: classify(target, original, case))
        slowest = max(slowest, time.monotonic() - began)
        if memory > heaviest:
            heaviest, heaviest_kind = memory, kind
        if memory > MEMORY_BOUND_BYTES and not failure(target, kind):
            kind, detail = "over memory", f"{memory / 2**20:.0f} MiB ({kind})"
        counts[kind] += 1
        if failure(target, kind):
            details[f"{kind}: {detail}"] += 1
            if sum(details.values()) <= 50:
                keep = findings / f"{folder.name}-{index}-{kind.replace(' ', '_')}{seed_path.suffix}"
                keep.parent.mkdir(parents=True, exist_ok=True)
                (shutil.copytree if case.is_dir() else shutil.copy)(case, keep)
        if case.is_dir():
            shutil.rmtree(case)
        if (index + 1) % progress_every == 0 or index + 1 == inputs:
            row = {"reader": target.name, "inputs": index + 1, **{kind: counts[kind] for kind in KINDS},
                   "different_allowed": target.different_allowed, "slowest_s": round(slowest, 3),
                   "peak_memory_mib": round(heaviest / 2**20, 1), "peak_memory_kind": heaviest_kind,
                   "oracle": target.oracle is not None,
                   "seconds": round(time.monotonic() - start, 1), "failures": dict(details.most_common(20))}
            report(row)
            print(f"{target.name}: {index + 1}/{inputs} {dict(counts)} ({row['seconds']:.0f} s)", flush=True)
    return row


def _commit() -> str:
    try:
        found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                               cwd=Path(__file__).parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                               cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return found.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def merged(earlier: dict, rows: list[dict]) -> list[dict]:
    """The rows of an earlier record (each stamped with its command and commit) with ``rows`` in place of the
    readers they re-ran; readers new to the record come last."""
    fresh = {row["reader"]: row for row in rows}
    kept = [fresh.pop(row["reader"], None) or {**row, "command": row.get("command", earlier["command"]),
                                               "commit": row.get("commit", earlier["commit"])}
            for row in earlier["rows"]]
    return kept + list(fresh.values())


def main(argv: list[str] | None = None, extra: Callable[[], list[Target]] | None = None,
         prog: str = "python -m accel.explore.fuzzing.campaign") -> int:
    """The campaign over every reader of this package's ``targets()`` and ``extra()`` (readers of higher layers)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=1000, help="mutated inputs per reader (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="campaign seed (default 0)")
    parser.add_argument("--only", action="append", help="run only readers whose name contains this (repeatable)")
    parser.add_argument("--out", type=Path, default=Path("runs/fuzz"), help="output folder (default runs/fuzz)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the rows of OUT/fuzz.json for readers not run now (each row names its command and commit)")
    args = parser.parse_args(argv)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    every = targets() + (extra() if extra is not None else [])
    chosen = [t for t in every if not args.only or any(part in t.name for part in args.only)]
    command = f"{prog} " + " ".join(argv if argv is not None else sys.argv[1:])
    commit = _commit()
    rows: list[dict] = []
    args.out.mkdir(parents=True, exist_ok=True)
    earlier = json.loads((args.out / "fuzz.json").read_text()) if args.merge and (args.out / "fuzz.json").exists() else None

    def record_of(shown: list[dict]) -> dict:
        if earlier is not None:
            shown = merged(earlier, [{**row, "command": command, "commit": commit} for row in shown])
        return {"command": command, "commit": commit, "time_limit_s": TIME_LIMIT_S,
                "memory_bound_bytes": MEMORY_BOUND_BYTES, "address_space_bytes": MEMORY_LIMIT_BYTES,
                "inputs_per_reader": args.inputs, "rows": shown}

    def report(row: dict) -> None:
        """Record the finished rows and the current one (so a stopped campaign still leaves its counts)."""
        record = record_of(rows + [row] if row["inputs"] < args.inputs else rows)
        (args.out / "fuzz.json").write_text(json.dumps(record, indent=2) + "\n")
        (args.out / "fuzz.md").write_text(markdown(record))

    with tempfile.TemporaryDirectory(prefix="fuzz-") as work:
        for target in chosen:
            rows.append(run_target(target, args.inputs, args.seed, Path(work), args.out / "findings",
                                   max(1, args.inputs // 100), report))
            report(rows[-1])
    print(markdown(record_of(rows)))
    return 1 if any(failure(t, k) and row[k] for t, row in zip(chosen, rows) for k in KINDS) else 0


if __name__ == "__main__":
    sys.exit(main())
