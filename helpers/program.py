"""A federated training program that survives interruption: `uv run python -m helpers.program --help`.

It trains FedAvg on the tutorials' data with TFF's program APIs: `tff.program.FileProgramStateManager` saves the
state every `checkpoint_every` rounds, `CSVFileReleaseManager` and `TensorBoardReleaseManager` release each round's
metrics, and the final global model is exported as a Keras SavedModel. Run it again with the same
`--checkpoint-dir` and it resumes after the last saved round.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any, ClassVar, Optional, Sequence

from helpers.settings import RoundSettings

CONFIG_FILE = "config.json"
STATE_PREFIX = "program_state_"


class CheckpointMismatchError(ValueError):
    """The checkpoint directory was written by a program with different settings."""


class CheckpointLoadError(RuntimeError):
    """A checkpoint that is complete on disk would not load: stop, move nothing, and say why."""


class CheckpointWriteError(OSError):
    """A checkpoint could not be written; the previous one is intact."""


class ProgramInputError(ValueError):
    """A command-line value the program cannot use (a checkpoint path that is no folder, too large a cohort)."""


@dataclasses.dataclass(frozen=True)
class ProgramConfig:
    """The settings a checkpoint depends on: the round settings (`helpers.settings.RoundSettings`) and the learning
    rates, each declared once.

    `run_program` takes them, the command line is built from their fields (`--clients-per-round`, ...), and
    `record()` is what config.json keeps: a run resumes a checkpoint only with the same settings. The round count may
    change.
    """

    MODEL: ClassVar[str] = "linear_model"
    ALGORITHM: ClassVar[str] = "build_weighted_fed_avg"

    rounds: RoundSettings = RoundSettings()
    client_lr: float = 0.1
    server_lr: float = 1.0

    def __post_init__(self) -> None:
        if self.rounds.sampling != "seeded":
            raise ValueError("The program samples seeded cohorts; Poisson sampling is for DP runs (notebook 07).")
        for name in ("client_lr", "server_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}.")

    def record(self) -> dict:
        """The settings as config.json keeps them, with the model and the algorithm they apply to."""
        rounds = {k: v for k, v in dataclasses.asdict(self.rounds).items() if k not in PROGRAM_FIXED}
        return {"model": self.MODEL, "algorithm": self.ALGORITHM, **rounds, "client_lr": self.client_lr,
                "server_lr": self.server_lr}  # fmt: skip


PROGRAM_FIXED = ("sampling",)  # RoundSettings fields the program does not offer: its cohorts are always seeded


def make_checkpoint_dir(checkpoint_dir: Path) -> None:
    """Create `checkpoint_dir` and any missing parent folders, or raise ProgramInputError naming the fix."""
    if checkpoint_dir.exists() and not checkpoint_dir.is_dir():
        raise ProgramInputError(
            f"--checkpoint-dir {checkpoint_dir} is a file, not a folder. Pass the path of a folder: a new or empty "
            "one, or one this program wrote, to resume."
        )
    try:
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        ancestor = next((p for p in checkpoint_dir.absolute().parents if p.exists()), None)
        if ancestor is not None and not ancestor.is_dir():
            reason = f"{ancestor} is a file, not a folder"
        elif isinstance(error, FileExistsError):
            reason = f"{error.filename or checkpoint_dir} exists but is not a folder (a broken link?)"
        else:
            reason = f"{error.strerror or error}: {error.filename or checkpoint_dir}"
        raise ProgramInputError(
            f"could not create --checkpoint-dir {checkpoint_dir} ({reason}). Create its parent folder first, or "
            "pass a --checkpoint-dir inside a folder you can write to."
        ) from None


def check_config(checkpoint_dir: Path, config: dict, write: bool = True) -> None:
    """Write `config` next to a new checkpoint, or raise CheckpointMismatchError if an existing one differs.

    The folder and its missing parents are created (`make_checkpoint_dir`). With `write=False`, only check: a new
    folder gets no config.json yet.
    """
    make_checkpoint_dir(checkpoint_dir)
    path = checkpoint_dir / CONFIG_FILE
    if not path.exists():
        if any(checkpoint_dir.iterdir()):
            raise CheckpointMismatchError(
                f"{checkpoint_dir} is not empty but has no {CONFIG_FILE}, so it was not written by this program. "
                "Pass an empty or new --checkpoint-dir."
            )
        if write:
            path.write_text(json.dumps(config, indent=2) + "\n")
        return
    saved = json.loads(path.read_text())
    if saved != config:
        diff = ", ".join(
            f"{k}: saved {saved.get(k)!r}, now {config.get(k)!r}"
            for k in sorted(set(saved) | set(config))
            if saved.get(k) != config.get(k)
        )
        raise CheckpointMismatchError(
            f"{checkpoint_dir} holds a checkpoint of a different program ({diff}). Resume with the saved settings, "
            "or pass a new --checkpoint-dir to start over."
        )


def run_program(
    num_rounds: int,
    checkpoint_dir: str,
    *,
    config: ProgramConfig = ProgramConfig(),
    metrics_dir: Optional[str] = None,
    export_dir: Optional[str] = None,
    checkpoint_every: int = 1,
    progress: bool = True,
) -> tuple[Any, int]:
    """Train until round `num_rounds`, resuming from `checkpoint_dir`; return the final state and first new round.

    Raises:
      ValueError: `num_rounds` or `checkpoint_every` is not positive.
      ProgramInputError: `checkpoint_dir` is a file or cannot be created, or the data has fewer clients than a round
        samples (both checked before the first round, and before config.json is written).
      CheckpointMismatchError: `checkpoint_dir` holds another program's checkpoint, or files of something else.
      CheckpointLoadError: the newest complete checkpoint does not load.
      CheckpointWriteError: a checkpoint could not be written (the previous one is kept).
    """
    if num_rounds < 1:
        raise ValueError(f"The number of rounds must be positive, got {num_rounds}.")
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be positive, got {checkpoint_every}.")
    check_config(Path(checkpoint_dir), config.record(), write=False)  # before TFF loads: a bad path fails fast

    import tensorflow as tf
    import tensorflow_federated as tff
    from tqdm.auto import tqdm

    from helpers.algorithms import build_fedavg
    from helpers.data import load_emnist, make_federated_data
    from helpers.models import linear_model, make_model_fn
    from helpers.runs import train
    from helpers.runtime import use_private_runtime
    from helpers.seeds import set_seeds

    use_private_runtime()  # TFF's worker unreachable from the network, and ended with this process
    set_seeds(config.rounds.seed)
    emnist_train, _, source = load_emnist(only_digits=True)
    check_cohort_size(config.rounds.clients_per_round, len(emnist_train.client_ids), source)
    check_config(Path(checkpoint_dir), config.record())  # only now: a refused run leaves no config.json behind
    input_spec = make_federated_data(emnist_train, emnist_train.client_ids[:1])[0].element_spec
    model_fn = make_model_fn(linear_model, input_spec)
    process = build_fedavg(model_fn, config.client_lr, server_lr=config.server_lr)

    state_manager = tff.program.FileProgramStateManager(
        checkpoint_dir, prefix=STATE_PREFIX, keep_total=2, keep_first=False
    )
    initial = process.initialize()
    # The state is saved as a flat list of arrays: TF 2.14's SavedModel writer trips over the nested dicts inside
    # a LearningAlgorithmState on Python 3.11 ("__dict__ descriptor does not support '_DictWrapper'").
    flat, last_round = asyncio.run(_load_newest_readable(state_manager, tf.nest.flatten(initial), Path(checkpoint_dir)))
    if flat is None:
        state = initial
    else:
        state = tf.nest.pack_sequence_as(initial, flat)
        print(f"Resuming from the checkpoint of round {last_round} in {checkpoint_dir}.", flush=True)
    release_managers = []
    if metrics_dir:
        release_managers = [
            tff.program.CSVFileReleaseManager(Path(metrics_dir) / "metrics.csv", key_fieldname="round"),
            tff.program.TensorBoardReleaseManager(Path(metrics_dir) / "tensorboard"),
        ]

    settings = config.rounds
    first_round = last_round + 1
    bar = tqdm(total=num_rounds, initial=min(last_round, num_rounds), desc="rounds", disable=not progress)
    while last_round < num_rounds:
        chunk = min(checkpoint_every, num_rounds - last_round)
        state, history = train(
            process, emnist_train, chunk, settings, state=state, start_round=last_round + 1, progress=False
        )
        last_round += chunk
        for i, round_num in enumerate(history["round"]):
            metrics = {
                "loss": history["loss"][i],
                "accuracy": history["accuracy"][i],
                "examples": history["examples"][i],
            }
            for manager in release_managers:
                asyncio.run(manager.release(metrics, key=round_num))
        try:
            asyncio.run(state_manager.save(tf.nest.flatten(state), last_round))
        except OSError as error:  # a full disk, a read-only or vanished folder: keep the last complete checkpoint
            shutil.rmtree(Path(checkpoint_dir) / f"{STATE_PREFIX}{last_round}", ignore_errors=True)
            raise CheckpointWriteError(
                f"could not write the checkpoint of round {last_round} in {checkpoint_dir} "
                f"({error.strerror or error}). Free some space (or fix the folder) and run the same command again: it "
                f"resumes from the last complete checkpoint, "
                + (f"round {last_round - chunk}." if last_round > chunk else "or from round 1 if there is none.")
            ) from error
        if not progress:
            print(f"Saved the state after round {last_round}.", flush=True)
        bar.update(chunk)
        bar.set_postfix(loss=f"{history['loss'][-1]:.3f}", saved=last_round)
    bar.close()
    if first_round > num_rounds:
        print(f"Nothing to do: the checkpoint is already at round {last_round} >= {num_rounds}.", flush=True)

    if export_dir:
        model = linear_model()
        process.get_model_weights(state).assign_weights_to(model)
        model.save(export_dir)
        print(f"Exported the global model after round {last_round} to {export_dir}.", flush=True)
    return state, first_round


def check_cohort_size(clients_per_round: int, num_clients: int, source: str) -> None:
    """Raise ProgramInputError if a round would sample more clients than the data holds."""
    if clients_per_round > num_clients:
        data = "the offline sample" if source == "sample" else "this EMNIST data"
        raise ProgramInputError(
            f"--clients-per-round {clients_per_round} is more than the {num_clients} clients of {data}. "
            f"Pass --clients-per-round {num_clients} or fewer."
        )


def written_partly(path: Path) -> Optional[str]:
    """Why the checkpoint folder `path` is provably a save cut short (a file missing or truncated), or None if whole."""
    import tensorflow as tf

    graph = path / "saved_model.pb"
    if not graph.is_file() or graph.stat().st_size == 0:
        return "saved_model.pb is missing or empty"
    if not (path / "variables" / "variables.index").is_file():
        return "variables/variables.index is missing"
    try:  # read every tensor's bytes back: a truncated data file cannot supply them
        reader = tf.train.load_checkpoint(str(path / "variables" / "variables"))
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    # A truncated data file: TensorFlow's reader says "Read less bytes than requested" (an IndexError from its C++
    # OutOfRange), or a checksum or missing-shard error.
    except (IndexError, tf.errors.DataLossError, tf.errors.OutOfRangeError, tf.errors.NotFoundError) as error:
        return f"its variables are cut short ({type(error).__name__})"
    return None


async def _load_newest_readable(state_manager: Any, structure: Any, checkpoint_dir: Path) -> tuple[Any, int]:
    """Load the newest checkpoint. Only a newest one that a crash left half-written is set aside, with a warning.

    Any other failure, a complete checkpoint that does not load (another TensorFlow or TFF version, another model
    under the same settings, too little memory) or an older one cut short, raises `CheckpointLoadError` and moves
    nothing: training must never restart from round 1 because of an error that has nothing to do with a crash.
    """
    for position, version in enumerate(sorted(await state_manager.get_versions() or [], reverse=True)):
        path = checkpoint_dir / f"{STATE_PREFIX}{version}"
        partial = written_partly(path)
        if partial is not None and position == 0:
            aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
            path.rename(aside)  # a name without a trailing number is ignored by FileProgramStateManager
            print(
                f"warning: the checkpoint of round {version} is unreadable ({partial}), because the program stopped "
                f"while saving it. Moved it to {aside.name}; trying the one before.",
                file=sys.stderr,
                flush=True,
            )
            continue
        if partial is not None:
            raise CheckpointLoadError(
                f"the checkpoint of round {version} in {checkpoint_dir} is incomplete ({partial}), and it is not the "
                "newest, so no crash of the last run explains it. Nothing was moved. Restore the folder from a "
                "backup, or start over in a new --checkpoint-dir."
            )
        try:
            return await state_manager.load(version, structure), version
        except Exception as error:
            detail = str(error).strip().splitlines()[0] if str(error).strip() else "no detail"
            raise CheckpointLoadError(
                f"the checkpoint of round {version} in {checkpoint_dir} is complete but does not load "
                f"({type(error).__name__}: {detail}). "
                "Nothing was moved. It may come from another TensorFlow or TFF version or another model under the "
                "same settings, or the machine ran out of memory: fix that and run the same command again, or "
                "start over in a new --checkpoint-dir."
            ) from error
    return None, 0


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


CLI_HELP = {
    "clients_per_round": "clients sampled in each round",
    "client_lr": "the clients' SGD learning rate",
    "server_lr": "the server's SGD learning rate (1.0: plain FedAvg)",
    "num_epochs": "local epochs per round",
    "batch_size": "local batch size",
    "seed": "the seed of cohort sampling, shuffles and initial weights",
}


def positive_float(text: str) -> float:
    """argparse type: a float above zero."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def cli_fields() -> list[dataclasses.Field]:
    """The settings the command line offers: the round settings the program uses, then the learning rates."""
    rounds = [f for f in dataclasses.fields(RoundSettings) if f.name not in PROGRAM_FIXED]
    return rounds + [f for f in dataclasses.fields(ProgramConfig) if f.name != "rounds"]


def config_from_args(args: argparse.Namespace) -> ProgramConfig:
    """The `ProgramConfig` that the parsed command line names."""
    values = {f.name: getattr(args, f.name) for f in cli_fields()}  # the same fields that built the parser
    in_rounds = {f.name for f in dataclasses.fields(RoundSettings)}
    rounds = RoundSettings(**{name: value for name, value in values.items() if name in in_rounds})
    return ProgramConfig(rounds=rounds, **{name: value for name, value in values.items() if name not in in_rounds})


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line of `python -m helpers.program`."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.program",
        description="Train FedAvg (the seed's linear model) on the tutorials' EMNIST data with checkpoints. "
        "Run it again with the same --checkpoint-dir to resume after the last saved round.",
    )
    parser.add_argument(
        "--rounds", type=positive_int, required=True, help="train until this round (total, not additional)"
    )
    parser.add_argument(
        "--checkpoint-dir", required=True, help="where tff.program.FileProgramStateManager keeps the state"
    )
    parser.add_argument("--metrics-dir", help="write metrics.csv and TensorBoard logs here")
    parser.add_argument("--export-dir", help="save the final global model here as a Keras SavedModel")
    parser.add_argument(
        "--checkpoint-every", type=positive_int, default=1, help="save the state every k rounds (default 1)"
    )
    for field in cli_fields():  # the program's settings, declared once
        kind = {"int": positive_int, "float": positive_float}[field.type] if field.name != "seed" else int
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=kind, default=field.default,
                            help=f"{CLI_HELP[field.name]} (default {field.default})")  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser.parse_args(argv)


M_ARENA_MAX = -8  # glibc's mallopt parameter for the most malloc arenas (malloc.h)


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap this process's glibc malloc arenas at `arenas`; return False where the C library is not glibc.

    TensorFlow's many threads each get an arena of their own, and memory freed in one is seldom returned: without
    this cap, the driver's RSS grew by 12 to 16 MiB per 100 rounds over 500 rounds while Python's own allocations
    stayed flat. With two arenas it stays flat (benchmarks/RESULTS.md, section 4). Call it before TensorFlow starts
    its threads.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if sys.platform != "linux" or not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: parse arguments, run the program, and turn known problems into one-line errors."""
    args = parse_args(argv)
    config = config_from_args(args)
    try:  # the checkpoint folder is checked before TensorFlow loads, so that a bad path fails in a second
        check_config(Path(args.checkpoint_dir), config.record(), write=False)
    except (ProgramInputError, CheckpointMismatchError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    limit_malloc_arenas()  # a long run's driver: see the docstring. Before TensorFlow is imported, just below.
    from helpers.data import DataSourceError  # imports TensorFlow, so only after --help has had its chance

    try:
        run_program(
            args.rounds,
            args.checkpoint_dir,
            config=config,
            metrics_dir=args.metrics_dir,
            export_dir=args.export_dir,
            checkpoint_every=args.checkpoint_every,
            progress=not args.no_progress,
        )
    except (
        ProgramInputError,
        CheckpointMismatchError,
        CheckpointLoadError,
        CheckpointWriteError,
        DataSourceError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        from helpers.runtime import release_local_worker

        release_local_worker()
    return 0


if __name__ == "__main__":
    sys.exit(main())
