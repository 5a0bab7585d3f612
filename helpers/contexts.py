"""TFF execution contexts on `worker_binary` services that are already running: one, several, or TFF's test variant.

TFF 0.87 ships the pieces but no public function that connects to a worker you started yourself, so the classes it
needs (from `tensorflow_federated.python.core.impl`) are wrapped here. Starting and stopping workers is
`helpers.runtime` (the private worker) and `helpers.workers` (several local ones); this module starts nothing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import IO, Any, Callable, Optional, Sequence

import grpc
import tensorflow_federated as tff
from tensorflow_federated.python.core.backends.native import compiler as native_compiler
from tensorflow_federated.python.core.backends.test import compiler as test_compiler
from tensorflow_federated.python.core.environments.tensorflow_frontend import tensorflow_computation
from tensorflow_federated.python.core.impl.executor_stacks import python_executor_stacks
from tensorflow_federated.python.core.impl.executors import remote_executor, remote_executor_grpc_stub

WORKER_BINARY = Path(tff.__file__).parent / "data" / "worker_binary"


def wait_until_ready(
    address: str, timeout: float = 60.0, process: Optional[subprocess.Popen] = None, log: Optional[IO[bytes]] = None
) -> None:
    """Block until the worker at `address` accepts gRPC connections; raise a clear error if it never does.

    Raises:
      TimeoutError: nothing answered within `timeout` s; names the address, and the worker's exit code and last log
        lines if its `process` and `log` are given.
    """
    with grpc.insecure_channel(address) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            detail = ""
            if process is not None and process.poll() is not None:
                detail = f" The worker exited with code {process.returncode}."
                if log is not None:
                    log.seek(0)
                    detail += " Its last log lines: " + log.read().decode(errors="replace")[-500:]
            raise TimeoutError(f"No TFF worker answered at {address} within {timeout:.0f} s.{detail}") from None


def executor_factory(address: str) -> python_executor_stacks.ResourceManagingExecutorFactory:
    """TFF's executor factory for the worker at `address` (`host:port` or `unix:/path`), as contexts take it."""
    stub = remote_executor_grpc_stub.RemoteExecutorGrpcStub(grpc.insecure_channel(address))

    def stack_fn(cardinalities):
        if cardinalities.get(tff.CLIENTS) is None:
            cardinalities[tff.CLIENTS] = 0  # as TFF's local context does when no client data is passed
        executor = remote_executor.RemoteExecutor(stub)
        executor.set_cardinalities(cardinalities)
        return executor

    return python_executor_stacks.ResourceManagingExecutorFactory(executor_stack_fn=stack_fn)


def _worker_context(
    address: str,
    *,
    compiler_fn: Callable[[Any], Any] = native_compiler.desugar_and_transform_to_native,
    synchronous: bool = True,
) -> Any:
    """The one place a context on a worker is built: TFF's native compiler step and TensorFlow's value transforms."""
    context_class = tff.framework.SyncExecutionContext if synchronous else tff.framework.AsyncExecutionContext
    return context_class(
        executor_fn=executor_factory(address),
        compiler_fn=compiler_fn,
        transform_args=tensorflow_computation.transform_args,
        transform_result=tensorflow_computation.transform_result,
    )


def remote_context(address: str) -> tff.framework.SyncExecutionContext:
    """A synchronous TFF execution context that runs every computation on the worker at `address`."""
    return _worker_context(address)


def remote_test_context(address: str) -> tff.framework.SyncExecutionContext:
    """TFF's *test* context (`tff.backends.test`: secure sums simulated as plain sums) on the worker at `address`."""

    def compile_fn(comp: Any) -> Any:
        return native_compiler.desugar_and_transform_to_native(
            test_compiler.replace_secure_intrinsics_with_bodies(comp)
        )

    return _worker_context(address, compiler_fn=compile_fn)


def multi_worker_context(addresses: Sequence[str]) -> tff.framework.SyncContext:
    """An execution context that splits each round's clients over the workers at `addresses` and merges the results.

    Raises:
      ValueError: `addresses` is empty.
    """
    if not addresses:
        raise ValueError("multi_worker_context needs at least one worker address.")
    contexts = [_worker_context(address, synchronous=False) for address in addresses]
    return tff.backends.native.create_mergeable_comp_execution_context(contexts)
