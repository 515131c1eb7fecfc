"""Web Push goes through the libraries, read from the imports alone: no module in app/ speaks HTTP
over its own sockets, and none on the push path does its own encryption, key derivation or
signing. pywebpush (with http_ece) encrypts and sends, aiohttp carries it, py-vapid signs.

Allowed: the `cryptography` key types and serialization, to load and keep the VAPID key
(app/dispatch/vapid.py) and to check that a browser's key is a P-256 point (app/core/push_rules.py);
`socket` for name lookups (app/services/push_endpoints.py); smtplib for email (app/core/email.py).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
# Where a push message is built, encrypted, signed and sent, and its rules checked.
PUSH_PATH = [
    *sorted((APP / "dispatch").glob("*.py")),
    APP / "core" / "push_rules.py",
    APP / "services" / "push_endpoints.py",
]

# Modules that would mean an HTTP client of our own, anywhere in app/.
HTTP_OF_OUR_OWN = ("httptools", "h11", "h2", "http.client", "urllib.request", "urllib3", "requests", "httpx")
# Calls that open a raw connection, anywhere in app/ (aiohttp and redis open theirs).
RAW_CONNECTIONS = {"open_connection", "create_connection", "open_unix_connection", "wrap_socket", "socket"}
# Building blocks of RFC 8291 encryption and RFC 8292 signing, on the push path.
CRYPTO_OF_OUR_OWN = (
    "hmac",
    "hashlib",
    "http_ece",  # pywebpush calls it; a second caller would be our own encryption
    "cryptography.hazmat.primitives.ciphers",
    "cryptography.hazmat.primitives.kdf",
    "cryptography.hazmat.primitives.hmac",
    "cryptography.hazmat.primitives.hashes",
    "cryptography.hazmat.primitives.asymmetric.utils",
    "jwt",
    "jose",
)
CRYPTO_CALLS = {"ECDH", "ECDSA", "exchange", "AESGCM", "HKDF", "encrypt", "decrypt"}


def _imports(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _called_names(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Attribute):
                yield function.attr
            elif isinstance(function, ast.Name):
                yield function.id


def _matches(name: str, modules: tuple[str, ...]) -> bool:
    return any(name == module or name.startswith(module + ".") for module in modules)


def _parsed(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), filename=str(path))


def test_no_module_in_app_is_an_http_client_of_its_own() -> None:
    found = []
    for path in sorted(APP.rglob("*.py")):
        tree = _parsed(path)
        name = path.relative_to(ROOT)
        found += [f"{name}: imports {module}" for module in _imports(tree) if _matches(module, HTTP_OF_OUR_OWN)]
        found += [f"{name}: calls {call}()" for call in _called_names(tree) if call in RAW_CONNECTIONS]
    assert found == []


def test_no_module_on_the_push_path_encrypts_or_signs_by_itself() -> None:
    found = []
    for path in PUSH_PATH:
        tree = _parsed(path)
        name = path.relative_to(ROOT)
        found += [f"{name}: imports {module}" for module in _imports(tree) if _matches(module, CRYPTO_OF_OUR_OWN)]
        found += [f"{name}: calls {call}()" for call in _called_names(tree) if call in CRYPTO_CALLS]
        if path.name == "webpush.py":
            # ...and anything else on this path that speaks HTTP is a second client.
            continue
        found += [f"{name}: imports {module}" for module in _imports(tree) if _matches(module, ("aiohttp",))]
    assert found == []


def test_the_send_path_is_pywebpush_and_py_vapid() -> None:
    """The other half: what does the work is imported where the work is done."""
    assert {"pywebpush.WebPusher", "aiohttp"} <= set(_imports(_parsed(APP / "dispatch" / "webpush.py")))
    assert "py_vapid.Vapid" in set(_imports(_parsed(APP / "dispatch" / "vapid.py")))
    assert not any((APP / "dispatch" / gone).exists() for gone in ("http1.py", "aes128gcm.py", "encryption.py"))
