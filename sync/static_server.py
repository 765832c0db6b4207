"""A static HTTPS file server with HTTP Range support, for tests, the demo and development.

It stands in for HQ's bundle host (any HTTPS static host, object store or CDN): it serves a
folder over TLS on loopback, honours `Range: bytes=N-` / `bytes=N-M` (RFC 9110 §14), and can
cut a response short after a number of bytes to simulate a dropped connection.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["ServerFaults", "StaticServer", "make_test_pki"]

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


def make_test_pki(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """Create a throw-away CA and a server certificate for `host`; return (ca, cert, key) paths."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "branch-edge test HQ CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return ca_path, cert_path, key_path


@dataclass
class ServerFaults:
    """Faults to inject into the next N responses whose path contains a given text."""

    cut: dict[str, tuple[int, int]] = field(default_factory=dict)  # text -> (bytes sent, times)
    status: dict[str, tuple[int, int]] = field(default_factory=dict)  # text -> (HTTP code, times)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, table: dict[str, tuple[int, int]], path: str) -> int | None:
        """Consume one use of a fault matching `path`."""
        with self.lock:
            for text, (value, times) in table.items():
                if text in path and times > 0:
                    table[text] = (value, times - 1)
                    return value
        return None


class _Handler(SimpleHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].lstrip("/")
        rng = self.headers.get("Range")
        self.server.requests.append((path, rng))
        code = self.server.faults.take(self.server.faults.status, path)
        if code is not None:
            self.send_error(code)
            return
        file = (self.server.root / path).resolve()
        if not file.is_file() or self.server.root not in file.parents:
            self.send_error(404)
            return
        data = file.read_bytes()
        start, end = 0, len(data)
        status = 200
        if rng:
            match = _RANGE.match(rng.strip())
            if not match or int(match.group(1)) >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start = int(match.group(1))
            end = min(len(data), int(match.group(2)) + 1) if match.group(2) else len(data)
            status = 206
        self.send_response(status)
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        self.end_headers()
        cut = self.server.faults.take(self.server.faults.cut, path)
        body = data[start:end]
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    root: Path
    faults: ServerFaults
    requests: list[tuple[str, str | None]]


class StaticServer:
    """Serve a folder over HTTPS on loopback (with Range and switchable faults)."""

    def __init__(self, root: Path, cert: Path, key: Path, host: str = "127.0.0.1") -> None:
        self.httpd = _Server((host, 0), _Handler)
        self.httpd.root = root.resolve()
        self.httpd.faults = ServerFaults()
        self.httpd.requests = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the served folder."""
        host, port = self.httpd.server_address[:2]
        return f"https://{host!s}:{port}/"

    @property
    def faults(self) -> ServerFaults:
        """The fault switches."""
        return self.httpd.faults

    @property
    def requests(self) -> list[tuple[str, str | None]]:
        """(path, Range header) of every request so far."""
        return self.httpd.requests

    def start(self) -> StaticServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> StaticServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
