"""Push message encryption in worker processes: what comes back decrypts, as a browser would
decrypt it (RFC 8291, receiver side, written out here), whichever process encrypted it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import signal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.dispatch.encryption import Encryptor, auto_processes
from tests import aio


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Browser:
    """A subscription's private side: it can read what was encrypted for it."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.raw = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.secret = os.urandom(16)
        self.p256dh, self.auth = _b64(self.raw), _b64(self.secret)

    def decrypt(self, body: bytes) -> bytes:
        salt, record_size, key_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        sender_raw = body[21 : 21 + key_length]
        assert record_size == 4096 and key_length == 65
        sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_raw)
        shared = self.key.exchange(ec.ECDH(), sender)

        def mac(key: bytes, data: bytes) -> bytes:
            return hmac.new(key, data, hashlib.sha256).digest()

        ikm = mac(mac(self.secret, shared), b"WebPush: info\x00" + self.raw + sender_raw + b"\x01")
        prk = mac(salt, ikm)
        cek = mac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
        nonce = mac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
        plain = AESGCM(cek).decrypt(nonce, body[21 + key_length :], None)
        assert plain.endswith(b"\x02")  # the last (and only) record's delimiter
        return plain[:-1]


async def _encrypt_all(encryptor: Encryptor, browsers: list[Browser], payloads: list[bytes]) -> list[bytes | None]:
    return await asyncio.gather(
        *(
            encryptor.encrypt(payload, p256dh=browser.p256dh, auth=browser.auth)
            for browser, payload in zip(browsers, payloads, strict=True)
        )
    )


@pytest.mark.parametrize("processes", [0, 1, 2])
def test_every_message_decrypts_for_its_own_subscription(processes: int) -> None:
    browsers = [Browser() for _ in range(150)]  # more than one batch
    payloads = [f'{{"n":{n},"body":"A moment to check in?"}}'.encode() for n in range(150)]
    encryptor = Encryptor(processes)
    try:
        bodies = aio.run(_encrypt_all(encryptor, browsers, payloads))
    finally:
        encryptor.close()
    assert [browser.decrypt(body) for browser, body in zip(browsers, bodies, strict=True) if body] == payloads
    # A fresh key and salt each time: the same payload never looks the same twice on the wire.
    assert len({body[:16] for body in bodies if body}) == 150


def test_unusable_keys_give_none_and_do_not_spoil_the_batch() -> None:
    good, bad = Browser(), Browser()
    encryptor = Encryptor(1)

    async def run() -> list[bytes | None]:
        return await asyncio.gather(
            encryptor.encrypt(b"one", p256dh=good.p256dh, auth=good.auth),
            encryptor.encrypt(b"two", p256dh="not-a-key", auth=bad.auth),
            encryptor.encrypt(b"three", p256dh=_b64(b"\x04" + bytes(64)), auth=bad.auth),  # not on the curve
            encryptor.encrypt(b"four", p256dh=good.p256dh, auth=good.auth),
        )

    try:
        first, second, third, fourth = aio.run(run())
    finally:
        encryptor.close()
    assert (second, third) == (None, None)
    assert first is not None and fourth is not None
    assert good.decrypt(first) == b"one" and good.decrypt(fourth) == b"four"


def test_a_dead_worker_means_encrypting_in_process_not_losing_messages() -> None:
    browser = Browser()
    encryptor = Encryptor(1)

    async def run() -> tuple[bytes | None, bytes | None]:
        before = await encryptor.encrypt(b"before", p256dh=browser.p256dh, auth=browser.auth)
        [pid] = encryptor.worker_pids()
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.5)
        after = await encryptor.encrypt(b"after", p256dh=browser.p256dh, auth=browser.auth)
        return before, after

    try:
        before, after = aio.run(run())
    finally:
        encryptor.close()
    assert before is not None and browser.decrypt(before) == b"before"
    assert after is not None and browser.decrypt(after) == b"after"
    assert encryptor.processes == 0  # from now on in the dispatcher's own process


def test_workers_follow_the_cores() -> None:
    cores = len(os.sched_getaffinity(0))
    assert auto_processes() == max(0, min(4, cores - 1))
    assert Encryptor(None).processes == auto_processes()
    assert Encryptor(-3).processes == 0


_PARENT = """
import asyncio, sys
from app.dispatch.encryption import Encryptor

async def main():
    encryptor = Encryptor(1)
    encryptor.start()
    await asyncio.sleep(0.5)
    print(encryptor.worker_pids()[0], flush=True)
    await asyncio.sleep(120)

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_workers_exit_when_the_dispatcher_is_killed_outright(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = tmp_path / "parent.py"
    script.write_text(_PARENT)
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        os.kill(worker, 0)  # alive
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            os.kill(worker, signal.SIGKILL)
            pytest.fail("the encryption worker outlived its dispatcher")
    finally:
        parent.kill()
