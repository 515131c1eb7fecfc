"""Push message encryption off the event loop, in a few worker processes.

Encrypting one message (a fresh P-256 key, ECDH, HKDF, AES-GCM) costs about as much
CPU as sending it. Done in the dispatcher's event loop it halves the sending rate
while the machine's other cores stay idle; the GIL rules out threads. Messages
waiting to be encrypted are gathered into batches, one round trip to a worker per
batch, so the inter-process traffic stays small next to the work itself.

With `processes=0` (or a single core, or when a worker dies) messages are encrypted
in the calling process: slower, never wrong.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from app.dispatch.aes128gcm import encrypt_batch, warm_up, watch_parent

log = logging.getLogger("between.dispatch")

BATCH = 64
MAX_AUTO_PROCESSES = 4


def auto_processes() -> int:
    """One worker per core beyond the one the event loop runs on (none on a single core)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(0, min(MAX_AUTO_PROCESSES, cores - 1))


Message = tuple[bytes, str, str]  # payload, p256dh, auth


class Encryptor:
    def __init__(self, processes: int | None = None, *, batch: int = BATCH) -> None:
        self.processes = auto_processes() if processes is None else max(0, processes)
        self.batch = batch
        self._executor: ProcessPoolExecutor | None = None
        self._waiting: list[tuple[Message, asyncio.Future[bytes | None]]] = []
        self._flush_scheduled = False

    def start(self) -> None:
        """Start the workers now, so the first burst does not wait for them to import."""
        if self.processes and self._executor is None:
            # spawn, not fork: the dispatcher may run inside a threaded web server.
            self._executor = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=watch_parent,
                initargs=(os.getpid(),),
            )
            for _n in range(self.processes):
                self._executor.submit(warm_up)

    def worker_pids(self) -> list[int]:
        """The workers' process ids (the benchmark reads their CPU time)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return sorted(processes)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def encrypt(self, payload: bytes, *, p256dh: str, auth: str) -> bytes | None:
        """The aes128gcm body, or None when the subscription's keys are unusable."""
        if not self.processes:
            return encrypt_batch([(payload, p256dh, auth)])[0]
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bytes | None] = loop.create_future()
        self._waiting.append(((payload, p256dh, auth), waiter))
        if len(self._waiting) >= self.batch:
            self._flush()
        elif not self._flush_scheduled:
            # Every send started in this turn of the loop joins the same batch.
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await waiter

    def _flush(self) -> None:
        self._flush_scheduled = False
        waiting, self._waiting = self._waiting, []
        if not waiting:
            return
        messages = [message for message, _waiter in waiting]
        waiters = [waiter for _message, waiter in waiting]
        self.start()
        assert self._executor is not None
        try:
            job: Future[list[bytes | None]] = self._executor.submit(encrypt_batch, messages)
        except (BrokenProcessPool, RuntimeError):
            self._give_up_workers()
            self._in_process(messages, waiters)
            return
        asyncio.wrap_future(job).add_done_callback(lambda done: self._deliver(done, messages, waiters))

    def _give_up_workers(self) -> None:
        # A worker died (out of memory, killed): stop using the pool, and encrypt in this
        # process from now on; the next dispatcher start makes a new pool.
        log.warning("encryption worker failed; encrypting in the dispatcher process from now on")
        self.close()
        self.processes = 0

    def _deliver(
        self,
        done: asyncio.Future[list[bytes | None]],
        messages: list[Message],
        waiters: list[asyncio.Future[bytes | None]],
    ) -> None:
        if done.cancelled() or done.exception() is not None:
            self._give_up_workers()
            self._in_process(messages, waiters)
            return
        for waiter, body in zip(waiters, done.result(), strict=True):
            if not waiter.done():
                waiter.set_result(body)

    @staticmethod
    def _in_process(messages: list[Message], waiters: list[asyncio.Future[bytes | None]]) -> None:
        for waiter, body in zip(waiters, encrypt_batch(messages), strict=True):
            if not waiter.done():
                waiter.set_result(body)
