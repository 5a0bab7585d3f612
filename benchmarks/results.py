"""The typed results of `python -m benchmarks`, one dataclass per section, stored in results.json."""

from __future__ import annotations

import dataclasses
import json
import statistics
import warnings
from pathlib import Path
from typing import Any, Optional


@dataclasses.dataclass(frozen=True)
class Machine:
    """Where and when a section was measured."""

    cpu: str
    cores: int
    memory_gib: float
    python: str
    tensorflow: str
    tff: str
    date: str


@dataclasses.dataclass(frozen=True)
class Timing:
    """Seconds per round: the median of the timed rounds, and the fastest and slowest of them."""

    median_s: float
    fastest_s: float
    slowest_s: float


@dataclasses.dataclass(frozen=True)
class Loop:
    """One way to run the same FedAvg round, and how long it took; `kind` is "tff" or "plain TF"."""

    name: str
    kind: str
    timing: Timing


@dataclasses.dataclass(frozen=True)
class RoundCost:
    """Section 1: one FedAvg round in TFF, in the fastest plain-TF loop for the same work, and the arithmetic floor."""

    clients_per_round: int
    timed_rounds: int
    examples_per_round: float
    batch_steps_per_round: float
    flops_per_round: float
    matmul_gflops: float
    loops: list[Loop]
    baseline: str  # the name of the plain-TF loop the goals compare with
    notebooks: str  # the name of the TFF loop the notebooks run
    max_weight_difference: float
    machine: Machine
    variant_runs: int = 2  # interleaved runs of each TFF variant (2 in the files written before it was recorded)

    @property
    def floor_s(self) -> float:
        """The arithmetic floor: the round's FLOPs at the measured matmul throughput."""
        return self.flops_per_round / (self.matmul_gflops * 1e9)

    def timing(self, name: str) -> Timing:
        """The timing of the loop called `name`."""
        return next(loop.timing for loop in self.loops if loop.name == name)

    @property
    def best_tff(self) -> Loop:
        """The fastest TFF loop."""
        return min((loop for loop in self.loops if loop.kind == "tff"), key=lambda loop: loop.timing.median_s)


@dataclasses.dataclass(frozen=True)
class ScalingRow:
    """TFF's round time for one cohort size."""

    clients_per_round: int
    examples_per_round: float
    timing: Timing

    @property
    def examples_per_s(self) -> float:
        """Examples processed per second in the median round."""
        return self.examples_per_round / self.timing.median_s


@dataclasses.dataclass(frozen=True)
class Scaling:
    """Section 2: TFF's round time against the cohort size."""

    timed_rounds: int
    rows: list[ScalingRow]
    machine: Machine


@dataclasses.dataclass(frozen=True)
class Memory:
    """Section 3: peak RSS (driver plus TFF worker) of a short `python -m helpers.program` run."""

    rounds: int
    runs: int
    peak_gib: float
    peak_gib_max: float
    wall_s: float
    machine: Machine


@dataclasses.dataclass(frozen=True)
class SoakPoint:
    """RSS of the driver plus its TFF worker when `round` had just been saved, and the peak so far."""

    round: int
    seconds: float
    rss_gib: float
    peak_gib: float


@dataclasses.dataclass(frozen=True)
class SoakCurve:
    """A long `python -m helpers.program` run on one data source, RSS sampled at every checkpoint."""

    source: str
    clients: int
    clients_per_round: int
    points: list[SoakPoint]

    @property
    def growth(self) -> float:
        """Relative RSS growth from the first checkpoint to the last."""
        return self.points[-1].rss_gib / self.points[0].rss_gib - 1


@dataclasses.dataclass(frozen=True)
class Soak:
    """Section 4: memory over a long run, on the sample and on the full-size stand-in."""

    rounds: int
    curves: list[SoakCurve]
    machine: Machine


@dataclasses.dataclass(frozen=True)
class Suite:
    """Sections 5 and 7: the wall time of a test command (the README's, or the quick loop's), over `runs` runs."""

    runs: int
    minutes: float
    minutes_all: list[float]
    all_passed: bool
    machine: Machine
    commit: str = ""  # the commit a clean clone ran, or "" for the working tree


@dataclasses.dataclass(frozen=True)
class NotebookTime:
    """One notebook executed alone, top to bottom, in a fresh kernel."""

    notebook: str
    seconds: float
    passed: bool
    peak_gib: float


@dataclasses.dataclass(frozen=True)
class Notebooks:
    """Section 6: every notebook executed alone on the offline sample, one after another."""

    rows: list[NotebookTime]
    machine: Machine
    total_s: float = dataclasses.field(init=False)  # the rows' sum, stored: reports quote what results.json holds

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_s", round(sum(row.seconds for row in self.rows), 1))

    @property
    def slowest(self) -> NotebookTime:
        return max(self.rows, key=lambda row: row.seconds)


@dataclasses.dataclass(frozen=True)
class Imports:
    """Section 8: seconds to import TFF in a new Python process, with the compiled modules Python keeps and without."""

    runs: int
    cached_s: list[float]
    uncached_s: list[float]
    machine: Machine

    @property
    def cached_median_s(self) -> float:
        return statistics.median(self.cached_s)

    @property
    def uncached_median_s(self) -> float:
        return statistics.median(self.uncached_s)


@dataclasses.dataclass
class Results:
    """Everything in results.json; a section is None until it has been measured."""

    round_cost: Optional[RoundCost] = None
    scaling: Optional[Scaling] = None
    memory: Optional[Memory] = None
    soak: Optional[Soak] = None
    suite: Optional[Suite] = None
    notebooks: Optional[Notebooks] = None
    quick: Optional[Suite] = None
    imports: Optional[Imports] = None

    def save(self, path: Path) -> None:
        """Write the results as JSON."""
        path.write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Results":
        """Read results.json; a missing file, or one written by an older version, gives what it can."""
        if not path.is_file():
            return cls()
        raw = json.loads(path.read_text())
        fields = {f.name: f.type for f in dataclasses.fields(cls)}
        loaded = {}
        for name, value in raw.items():
            if name in fields and value is not None:
                try:
                    loaded[name] = _build(_SECTION_TYPES[name], value)
                except (KeyError, TypeError):  # a section in an older format: say so, and measure it again
                    warnings.warn(
                        f"{path}: the {name!r} section is in an older format and was dropped; the next "
                        f"run without it rewrites the file. Measure it again with --only {name}.",
                        stacklevel=2,
                    )
        return cls(**loaded)


_SECTION_TYPES = {
    "round_cost": RoundCost,
    "scaling": Scaling,
    "memory": Memory,
    "soak": Soak,
    "suite": Suite,
    "notebooks": Notebooks,
    "quick": Suite,
    "imports": Imports,
}
_NESTED = {
    ("RoundCost", "loops"): Loop,
    ("Scaling", "rows"): ScalingRow,
    ("Soak", "curves"): SoakCurve,
    ("SoakCurve", "points"): SoakPoint,
    ("Notebooks", "rows"): NotebookTime,
}


def _build(cls: type, raw: dict[str, Any]) -> Any:
    """Rebuild dataclass `cls` (and the dataclasses inside it) from its `asdict` form."""
    values = {}
    for f in dataclasses.fields(cls):
        if not f.init or (f.name not in raw and f.default is not dataclasses.MISSING):  # derived, or added later
            continue
        value = raw[f.name]
        item = _NESTED.get((cls.__name__, f.name))
        if item is not None:
            value = [_build(item, v) for v in value]
        elif f.name == "machine":
            value = Machine(**value)
        elif f.name == "timing":
            value = Timing(**value)
        values[f.name] = value
    return cls(**values)
