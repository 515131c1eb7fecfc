"""The push HTTP/1.1 client against a loopback server that answers as each test scripts it:
sized, chunked and close-delimited answers, kept-alive and closed connections, stalls, TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.dispatch.http1 import Http1Client, ResponseError, parse_endpoint
from tests import aio
from tests.dispatch.conftest import read_request

Answer = Callable[[asyncio.StreamWriter, int], Awaitable[None]]


@dataclass
class Server:
    """Counts connections and requests; `answer(writer, n)` writes the n-th answer (from 0)."""

    answer: Answer
    connections: int = 0
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                self.requests.append(await read_request(reader))
                await self.answer(writer, len(self.requests) - 1)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def serve(answer: Answer, test: Callable[[Server], Awaitable[Any]], *, tls: ssl.SSLContext | None = None) -> Any:
    async def main() -> Any:
        server = Server(answer)
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
        server.port = listener.sockets[0].getsockname()[1]
        async with listener:
            return await test(server)

    return aio.run(main())


def reply(status: int, *headers: str, body: bytes = b"") -> Answer:
    async def answer(writer: asyncio.StreamWriter, _n: int) -> None:
        extra = "".join(f"{line}\r\n" for line in headers)
        writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: {len(body)}\r\n{extra}\r\n".encode() + body)
        await writer.drain()

    return answer


def test_a_request_is_a_plain_post_and_the_connection_is_kept_alive() -> None:
    async def test(server: Server) -> list[int]:
        client = Http1Client(timeout=5)
        url = f"http://127.0.0.1:{server.port}/push/abc?x=1"
        statuses = [(await client.post(url, b"\x01\x02", {"TTL": "60", "Topic": "t1"})).status for _ in range(3)]
        await client.aclose()
        return statuses

    server_seen: list[Server] = []

    async def recorded(server: Server) -> list[int]:
        server_seen.append(server)
        return await test(server)

    assert serve(reply(201), recorded) == [201, 201, 201]
    [server] = server_seen
    assert server.connections == 1
    line, headers, body = server.requests[0]
    assert line == "POST /push/abc?x=1 HTTP/1.1"
    assert headers["host"] == f"127.0.0.1:{server.port}"
    assert headers["content-length"] == "2" and headers["ttl"] == "60" and headers["topic"] == "t1"
    assert body == b"\x01\x02"


def test_chunked_and_retry_after_answers_are_read_whole() -> None:
    async def chunked(writer: asyncio.StreamWriter, _n: int) -> None:
        writer.write(
            b"HTTP/1.1 429 Too Many\r\nTransfer-Encoding: chunked\r\nRetry-After: 120\r\n\r\n"
            b"5\r\nslow \r\n5\r\ndown!\r\n0\r\n\r\n"
        )
        await writer.drain()

    async def test(server: Server) -> tuple[Any, Any, int]:
        client = Http1Client(timeout=5)
        url = f"http://127.0.0.1:{server.port}/p"
        first, second = await client.post(url, b"x", {}), await client.post(url, b"y", {})
        await client.aclose()
        return first, second, server.connections

    first, second, connections = serve(chunked, test)
    assert (first.status, first.retry_after) == (429, "120")
    assert second.status == 429
    assert connections == 1  # the chunked body was consumed, so the connection stayed usable


def test_an_answer_ended_by_closing_and_connection_close_are_honoured() -> None:
    async def close_delimited(writer: asyncio.StreamWriter, n: int) -> None:
        if n == 0:
            writer.write(b"HTTP/1.1 201 Created\r\nConnection: close\r\n\r\nbye")
        else:
            writer.write(b"HTTP/1.0 410 Gone\r\n\r\nno length at all")
        await writer.drain()
        writer.close()

    async def test(server: Server) -> tuple[list[int], int]:
        client = Http1Client(timeout=5)
        url = f"http://127.0.0.1:{server.port}/p"
        statuses = [(await client.post(url, b"x", {})).status for _ in range(2)]
        await client.aclose()
        return statuses, server.connections

    assert serve(close_delimited, test) == ([201, 410], 2)


def test_an_idle_connection_closed_far_away_is_replaced_and_the_message_sent_once() -> None:
    async def then_hang_up(writer: asyncio.StreamWriter, _n: int) -> None:
        writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()  # an idle timeout at the push service, without saying so

    async def test(server: Server) -> tuple[list[int], int, int]:
        client = Http1Client(timeout=5)
        url = f"http://127.0.0.1:{server.port}/p"
        first = await client.post(url, b"1", {})
        await asyncio.sleep(0.1)
        second = await client.post(url, b"2", {})
        await client.aclose()
        return [first.status, second.status], server.connections, len(server.requests)

    assert serve(then_hang_up, test) == ([201, 201], 2, 2)


def test_a_stalled_answer_times_out_and_its_connection_is_not_reused() -> None:
    async def stall_first(writer: asyncio.StreamWriter, n: int) -> None:
        if n == 0:
            await asyncio.sleep(3)
            return
        writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()

    async def test(server: Server) -> tuple[int, int]:
        client = Http1Client(timeout=0.3)
        url = f"http://127.0.0.1:{server.port}/p"
        with pytest.raises(TimeoutError):
            await client.post(url, b"1", {})
        second = await client.post(url, b"2", {})
        await client.aclose()
        return second.status, server.connections

    assert serve(stall_first, test) == (201, 2)


def test_nonsense_refusals_and_header_injection_are_errors() -> None:
    async def garbage(writer: asyncio.StreamWriter, _n: int) -> None:
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()

    async def test(server: Server) -> None:
        client = Http1Client(timeout=2)
        with pytest.raises(ResponseError):
            await client.post(f"http://127.0.0.1:{server.port}/p", b"x", {})
        with pytest.raises(ValueError):
            await client.post(f"http://127.0.0.1:{server.port}/p", b"x", {"Topic": "a\r\nX-Evil: 1"})
        await client.aclose()

    serve(garbage, test)

    async def refused() -> None:
        client = Http1Client(timeout=2)
        with pytest.raises(ResponseError):
            await client.post("http://127.0.0.1:9/p", b"x", {})  # discard port: nothing listens

    aio.run(refused())
    with pytest.raises(ValueError):
        parse_endpoint("ftp://push.example/x")


def _self_signed() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "cert.pem").write_bytes(pem)
        Path(folder, "key.pem").write_bytes(key_pem)
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.load_cert_chain(Path(folder, "cert.pem"), Path(folder, "key.pem"))
    trusting = ssl.create_default_context(cadata=pem.decode())
    return server, trusting


def test_tls_with_certificate_checks() -> None:
    server_context, trusting = _self_signed()

    async def test(server: Server) -> tuple[int, int]:
        client = Http1Client(timeout=5, ssl_context=trusting)
        url = f"https://localhost:{server.port}/push/1"
        statuses = [(await client.post(url, b"x", {})).status for _ in range(2)]
        await client.aclose()
        strict = Http1Client(timeout=5)  # the system's trust store does not know this certificate
        with pytest.raises(ResponseError):
            await strict.post(url, b"x", {})
        await strict.aclose()
        return statuses[1], server.connections

    status, connections = serve(reply(201), test, tls=server_context)
    assert status == 201
    assert connections == 1  # kept alive for both; the strict client's handshake never got that far
