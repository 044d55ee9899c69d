"""Work on untrusted files in a child process bounded in memory and in time.

A file can keep a reader busy for hours, or make it allocate without end, inside C code (GDAL,
GEOS, NumPy) that holds the GIL: neither a thread nor a signal handler can stop it, and a server
running it in a thread stops answering. The one bound that always holds is another process,
limited in address space (``RLIMIT_AS``) and killed when its time is up. The children are forked
from a fork server that has the importers loaded already, so starting one costs milliseconds;
a child killed half-way leaves the store as it was (every store write is atomic). A child
dies with its caller (killed, or interrupted by Ctrl-C even while the child is being started), so
that no work goes on to write the store after its caller has said it unchanged.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import resource
import signal
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from typing import Any, Final, TypeVar

from geo_service.errors import GeoServiceError, LimitExceededError

T = TypeVar("T")
logger = logging.getLogger("geo_service.bounded")

_CONTEXT: Final = multiprocessing.get_context("forkserver")
#: Modules loaded once in the fork server rather than in each child (see :func:`preload`).
_PRELOADED: Final = ["geo_service.pipeline", "geo_service.store"]
_CONTEXT.set_forkserver_preload(_PRELOADED)
_MB: Final = 1_000_000
#: prctl(2) option: the signal a process receives when its parent ends (Linux).
_PR_SET_PDEATHSIG: Final = 1
#: Ways a child dies when an allocation fails in C or C++ code (abort on std::bad_alloc).
_MEMORY_SIGNALS: Final = frozenset({signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS})
_MEMORY_WORDS: Final = ("out of memory", "cannot allocate", "memoryerror", "bad_alloc")


@dataclass(frozen=True)
class Bounds:
    """Limits of one piece of work, and the settings that set them (named in the messages)."""

    memory_mb: float
    timeout_s: float
    memory_setting: str = "GEO_SERVICE_IMPORT_MEMORY_MB"
    timeout_setting: str = "GEO_SERVICE_IMPORT_TIMEOUT_S"


class WorkerFailureError(Exception):
    """The work raised something other than a :class:`GeoServiceError` (its traceback was
    logged by the child): ``kind`` is the exception's class name, ``detail`` its first line."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def preload(*modules: str) -> None:
    """Load ``modules`` (those of the work functions) in the fork server too, when it starts."""
    _PRELOADED.extend(m for m in modules if m not in _PRELOADED)
    _CONTEXT.set_forkserver_preload(_PRELOADED)


def start() -> None:
    """Start the fork server now rather than at the first piece of work: it returns at once,
    and the server loads the modules preloaded so far (seconds) while the caller goes on (a
    module preloaded later is loaded by each child instead).

    The server starts with Ctrl-C (SIGINT) blocked, as multiprocessing starts its resource
    tracker: a Ctrl-C to the terminal's process group while it loads the modules would
    otherwise kill it, printing a traceback, and leave its caller without a worker. It ignores
    SIGINT once loaded; each child unblocks it (:func:`_child`), to be interrupted as its
    caller is."""
    resource_tracker.ensure_running()  # started first: it unblocks SIGINT once it is running
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def run_bounded(work: Callable[..., T], *args: Any, bounds: Bounds, what: str) -> T:
    """``work(*args)`` in a child process within ``bounds``; its value, or its error.

    ``work`` and ``args`` are pickled (module-level function, plain values); the warnings the
    work emitted are emitted again here. A
    :class:`GeoServiceError` raised by the work is raised here as it is; a child that runs out
    of memory or time raises :class:`LimitExceededError` naming ``what`` (e.g. the files) and
    the setting; any other failure :class:`WorkerFailureError`.
    """
    start()  # (again, if it died) with SIGINT blocked, rather than as the process starts
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(
        target=_child, args=(sender, bounds.memory_mb, work, args), daemon=True
    )
    started = False
    try:
        # Ctrl-C while the fork server starts the child would leave it running unknown to
        # us, to write the store after we said it unchanged: it waits until the child is ours.
        with _interrupts_deferred():
            process.start()
            started = True
        sender.close()
        status, value, caught = _answer(receiver, process, bounds, what)
    finally:
        if started:
            if process.is_alive():
                process.kill()
            process.join()
        sender.close()
        receiver.close()
    for message, category in caught:  # the work's warnings, shown by the caller's handler
        warnings.warn(message, category, stacklevel=2)
    if status == "ok":
        return value  # type: ignore[no-any-return]
    if status == "interrupted":
        raise KeyboardInterrupt
    if status == "memory":
        raise _out_of_memory(bounds, what)
    if status == "error":
        raise value
    raise WorkerFailureError(*value)


def _answer(
    receiver: Connection, process: multiprocessing.process.BaseProcess, bounds: Bounds, what: str
) -> tuple[str, Any, list[tuple[str, type[Warning]]]]:
    """The child's answer: status, value, warnings. On Ctrl-C the child is stopped and
    KeyboardInterrupt raised, unless its whole answer had already arrived: work that finished
    (its store write done) just before the interrupt is reported as done, not as undone."""
    try:
        if not receiver.poll(bounds.timeout_s):
            raise LimitExceededError(
                f"{what}: not finished after {bounds.timeout_s:g} s ({bounds.timeout_setting}), "
                "stopped; the store is unchanged. Split the file, or raise the limit"
            )
    except KeyboardInterrupt:
        process.kill()
        process.join()
        if not receiver.poll(0):
            raise
        try:
            return receiver.recv()  # type: ignore[no-any-return]
        except EOFError:  # killed while answering: the interrupt stands
            raise KeyboardInterrupt from None
    try:
        return receiver.recv()  # type: ignore[no-any-return]
    except EOFError:  # the child died without answering
        process.join()
        raise _died(process.exitcode, bounds, what) from None


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Within the block, a Ctrl-C (SIGINT) is remembered and raised as KeyboardInterrupt when
    it ends (only the main thread receives it; in other threads, nothing to defer)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    interrupted: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, _: interrupted.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt


def _die_with_the_fork_server() -> None:
    """Have the kernel kill this child when the fork server (its parent) ends, as it does
    when the process that asked for the work ends: work whose caller is gone (killed,
    interrupted) must not go on to write the store."""
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getppid()
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before the request took effect
        os._exit(1)


def _child(sender: Connection, memory_mb: float, work: Callable[..., Any], args: Any) -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked in the fork server
    _die_with_the_fork_server()
    limit = int(memory_mb * _MB)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with warnings.catch_warnings(record=True) as caught:
        outcome = _outcome(work, args)
    try:
        sender.send((*outcome, [(str(w.message), w.category) for w in caught]))
    except MemoryError:
        sender.send(("memory", None, []))
    sender.close()


def _outcome(work: Callable[..., Any], args: Any) -> tuple[str, Any]:
    try:
        return ("ok", work(*args))
    except GeoServiceError as exc:
        return ("error", exc)
    except MemoryError:
        return ("memory", None)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the caller says it
        return ("interrupted", None)
    except Exception as exc:
        detail = str(exc).strip().split("\n")[0][:300]
        if any(word in f"{type(exc).__name__} {detail}".lower() for word in _MEMORY_WORDS):
            return ("memory", None)
        logger.exception("unexpected failure in a bounded worker")
        return ("failure", (type(exc).__name__, detail))


def _died(exitcode: int | None, bounds: Bounds, what: str) -> Exception:
    if exitcode is not None and -exitcode in _MEMORY_SIGNALS:
        return _out_of_memory(bounds, what)
    how = f"signal {-exitcode}" if exitcode is not None and exitcode < 0 else f"status {exitcode}"
    return WorkerFailureError("WorkerDied", f"the worker process stopped with {how}")


def _out_of_memory(bounds: Bounds, what: str) -> LimitExceededError:
    return LimitExceededError(
        f"{what}: needed more than {bounds.memory_mb:g} MB of memory ({bounds.memory_setting}), "
        "stopped; the store is unchanged. Split the file, or raise the limit"
    )
