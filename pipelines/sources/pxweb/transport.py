"""Record and replay HTTP exchanges, so the same client code runs offline.

`RecordingTransport(inner, directory)` wraps any httpx transport and saves every request/response pair as
one JSON file named by a hash of (method, canonical URL, body hash): `{"method","url","body_sha256",
"request_body","responses":[{"status","headers","body"|"body_base64"}]}`. Repeated identical requests (e.g.
a 429 followed by a 200) append to `responses`. `ReplayTransport(directory)` serves them back in order,
repeating the last one, and raises `ReplayMissError` for a request it has no recording of. The canonical URL
sorts the query parameters and ignores the host, so a recording made against one server replays against any
base URL with the same path; JSON bodies are hashed in canonical form (sorted keys).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from .errors import ReplayMissError

_DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length", "connection", "set-cookie", "date"}


def canonical_url(url: str | httpx.URL) -> str:
    parts = urlsplit(str(url))
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return parts.path + (f"?{query}" if query else "")


def body_hash(body: bytes) -> str:
    if not body:
        return ""
    try:
        canon = json.dumps(json.loads(body), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canon = body
    return hashlib.sha256(canon).hexdigest()


def exchange_key(method: str, url: str | httpx.URL, body: bytes) -> str:
    blob = f"{method.upper()} {canonical_url(url)} {body_hash(body)}"
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def _encode_body(content: bytes) -> dict:
    try:
        return {"body": content.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_base64": base64.b64encode(content).decode("ascii")}


def _decode_body(resp: dict) -> bytes:
    if "body_base64" in resp:
        return base64.b64decode(resp["body_base64"])
    return str(resp.get("body", "")).encode("utf-8")


def write_recording(
    directory: str | Path,
    *,
    method: str,
    url: str,
    status: int,
    content: bytes,
    request_body: bytes = b"",
    headers: dict[str, str] | None = None,
    append: bool = True,
) -> Path:
    """Save one exchange (also used to build recordings from saved real responses)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{exchange_key(method, url, request_body)}.json"
    record = {
        "method": method.upper(),
        "url": canonical_url(url),
        "body_sha256": body_hash(request_body),
        "request_body": request_body.decode("utf-8", "replace") if request_body else "",
        "responses": [],
    }
    if append and path.exists():
        record = json.loads(path.read_text(encoding="utf-8"))
    headers = {k.lower(): v for k, v in (headers or {}).items() if k.lower() not in _DROP_HEADERS}
    record["responses"].append({"status": status, "headers": headers, **_encode_body(content)})
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)
    return path


class RecordingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, directory: str | Path):
        self.inner = inner
        self.directory = Path(directory)
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        response = self.inner.handle_request(request)
        content = response.read()  # a dropped connection raises here and is not recorded
        with self._lock:
            write_recording(
                self.directory,
                method=request.method,
                url=str(request.url),
                status=response.status_code,
                content=content,
                request_body=body,
                headers=dict(response.headers),
            )
        return httpx.Response(
            response.status_code,
            headers=[(k, v) for k, v in response.headers.items() if k.lower() not in ("content-encoding",)],
            content=content,
            request=request,
        )

    def close(self) -> None:
        self.inner.close()


class ReplayTransport(httpx.BaseTransport):
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []  # (method, canonical url) in order, for tests

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        key = exchange_key(request.method, request.url, body)
        path = self.directory / f"{key}.json"
        with self._lock:
            self.requests.append((request.method, canonical_url(request.url)))
            if not path.exists():
                raise ReplayMissError(
                    f"no recording for {request.method} {canonical_url(request.url)} "
                    f"(body sha256 {body_hash(body)[:12] or '-'}) in {self.directory}"
                )
            record = json.loads(path.read_text(encoding="utf-8"))
            i = self._served.get(key, 0)
            self._served[key] = i + 1
        resp = record["responses"][min(i, len(record["responses"]) - 1)]
        headers = resp.get("headers") or {}
        return httpx.Response(resp["status"], headers=headers, content=_decode_body(resp), request=request)
