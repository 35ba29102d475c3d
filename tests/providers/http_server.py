"""A real HTTP server on 127.0.0.1 for provider tests: scripted routes and JSON-RPC by method.

    server.route("GET", "/api/v1/validators/V", Reply(body={...}))            # always this
    server.route("GET", "/x", Reply(status=500), Reply(body={...}))         # 500 once, then this
    server.rpc("getBlock", lambda params: {...})                            # result
    server.rpc("getBlock", lambda params: RpcFault(-32007, "skipped"))      # JSON-RPC error
    server.rpc("getBlock", lambda params: Reply(status=500))                # whole HTTP reply
    server.rpc_faults.extend([Reply(status=429, headers={"Retry-After": "0"})])  # before dispatch
    server.log  # every request: Logged(method, path, query, body)

A route's replies are used in order; the last one repeats. `Reply(delay=...)` sleeps before
answering (timeouts); `Reply(truncate=n)` sends only the first n bytes of the body while announcing
the full length. JSON-RPC is served on `server.rpc_path` (default "/"); batches are dispatched item
by item. Never a mocked transport: httpx talks to this over a socket.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes/str
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncate: int | None = None
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body if self.body is not None else {}).encode()


@dataclass(frozen=True)
class RpcFault:
    code: int
    message: str


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class LoopbackServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply | Callable[[Logged], Reply]]] = {}
        self.rpc_handlers: dict[str, Callable[[list[Any]], Any]] = {}
        self.rpc_faults: list[Reply] = []
        self.rpc_path = "/"
        self.log: list[Logged] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LoopbackServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- scripting --

    def route(self, method: str, path: str, *replies: Reply | Callable[[Logged], Reply]) -> None:
        self.routes[(method, path)] = list(replies)

    def rpc(self, method: str, handler: Callable[[list[Any]], Any]) -> None:
        self.rpc_handlers[method] = handler

    def requests(self, method: str | None = None, path: str | None = None, rpc: str | None = None) -> list[Logged]:
        out = []
        for entry in self.log:
            if method and entry.method != method or path and entry.path != path:
                continue
            if rpc is not None:
                calls = entry.body if isinstance(entry.body, list) else [entry.body]
                if not any(isinstance(c, dict) and c.get("method") == rpc for c in calls):
                    continue
            out.append(entry)
        return out

    def rpc_calls(self, method: str) -> list[list[Any]]:
        """The params of every call of `method` received (batched calls included)."""
        out = []
        for entry in self.log:
            calls = entry.body if isinstance(entry.body, list) else [entry.body]
            out += [c.get("params") for c in calls if isinstance(c, dict) and c.get("method") == method]
        return out

    # -- serving --

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        entry = Logged(method, parts.path, parse_qs(parts.query), dict(h.headers.items()), body)
        with self._lock:
            self.log.append(entry)
        reply = self._reply(entry)
        if reply.delay:
            time.sleep(reply.delay)
        data = reply.encoded()
        sent = data if reply.truncate is None else data[: reply.truncate]
        try:
            h.send_response(reply.status)
            h.send_header("Content-Type", reply.content_type)
            h.send_header("Content-Length", str(len(sent)))
            for k, v in reply.headers.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(sent)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _reply(self, entry: Logged) -> Reply:
        key = (entry.method, entry.path)
        if key in self.routes:
            with self._lock:
                script = self.routes[key]
                item = script.pop(0) if len(script) > 1 else script[0]
            return item(entry) if callable(item) else item
        if entry.method == "POST" and entry.path == self.rpc_path:
            with self._lock:
                if self.rpc_faults:
                    return self.rpc_faults.pop(0)
            return self._dispatch(entry.body)
        return Reply(status=404, body={"error": f"no route {entry.method} {entry.path}"})

    def _dispatch(self, body: Any) -> Reply:
        if isinstance(body, list):
            answers = []
            for call in body:
                answer = self._call(call)
                if isinstance(answer, Reply):
                    return answer
                answers.append(answer)
            return Reply(body=answers)
        answer = self._call(body)
        return answer if isinstance(answer, Reply) else Reply(body=answer)

    def _call(self, call: Any) -> Any:
        if not isinstance(call, dict) or "method" not in call:
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid request"}}
        handler = self.rpc_handlers.get(call["method"])
        if handler is None:
            return {"jsonrpc": "2.0", "id": call.get("id"), "error": {"code": -32601, "message": "Method not found"}}
        result = handler(call.get("params") or [])
        if isinstance(result, Reply):
            return result
        if isinstance(result, RpcFault):
            return {"jsonrpc": "2.0", "id": call.get("id"), "error": {"code": result.code, "message": result.message}}
        return {"jsonrpc": "2.0", "id": call.get("id"), "result": result}
