"""A document sink emulator: a real threaded HTTP server that records what it receives.

Contract (JSON over HTTP on 127.0.0.1, random free port):

- ``PUT /documents/{identity}`` with header ``Idempotency-Key: {identity}`` and the document
  as JSON body -> ``201 {"id": "..."}``. A second PUT of a known identity is recorded as a
  duplicate and answered ``409`` (a real remote would store it twice).
- ``GET /documents/{identity}`` -> ``200 {"id": ...}`` or ``404`` (the find_existing lookup).
- ``PUT /documents/{identity}/files/{name}`` with the file's bytes -> ``201 {"id": ...}``
  (404 when the document is unknown; a second file of the same name is recorded as a
  duplicate and answered 409); ``GET /documents/{identity}/files`` lists them.
- ``GET /_received`` -> every PUT received, in order, duplicates included.
- ``"hold": {"<identity>": seconds}`` in the faults waits that long *before* storing that
  document (a delivery that outlives a lease, as an Amazon feed poll does).
- ``POST /_faults`` with ``{"rate": 0.3, "kinds": ["429", "500", "400", "500-after", "slow"],
  "retry_after": 0.1, "delay": 2.0, "seed": 1}`` -> random faults on PUT and GET; ``"500-after"``
  stores the document and then fails, ``"slow"`` stores it and answers after ``delay``
  (a client timeout) — both leave the sender in doubt. ``{"rate": 0}`` switches them off;
  ``"latency": 0.002`` delays every accepted PUT (remote processing time).

Run it standalone with ``python -m syncd.testing.sink [--port N] [--journal FILE]``; it prints
its base URL on the first line of stdout. With a journal, accepted documents survive restarts.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from syncd.testing.emulator import Emulator, EmulatorHandler


class SinkState:
    """Everything the sink knows; shared by the handler threads under one lock."""

    def __init__(self, journal: Path | None = None) -> None:
        self.lock = threading.Lock()
        self.documents: dict[str, dict[str, Any]] = {}
        self.files: dict[str, list[dict[str, Any]]] = {}
        self.received: list[dict[str, Any]] = []
        self.faults: dict[str, Any] = {"rate": 0.0}
        self.random = random.Random(0)
        self.journal = journal
        if journal is not None and journal.exists():
            for line in journal.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.received.append(entry)
                    self.documents.setdefault(entry["identity"], entry)

    def fault(self) -> str | None:
        with self.lock:
            rate = float(self.faults.get("rate", 0.0))
            if rate <= 0 or self.random.random() >= rate:
                return None
            kinds = self.faults.get("kinds") or ["500"]
            return str(self.random.choice(kinds))

    def accept(self, identity: str, key: str | None, body: dict[str, Any]) -> tuple[int, dict]:
        with self.lock:
            duplicate = identity in self.documents
            entry = {
                "identity": identity,
                "idempotency_key": key,
                "number": body.get("number"),
                "invoice_ref": body.get("invoice_ref"),
                "duplicate": duplicate,
                "id": self.documents[identity]["id"] if duplicate else
                f"sink-{len(self.received) + 1}",
                "at": time.time(),
            }
            self.received.append(entry)
            if self.journal is not None:
                with self.journal.open("a") as fh:
                    fh.write(json.dumps(entry) + "\n")
            if duplicate:
                return 409, {"error": "duplicate", "id": entry["id"]}
            self.documents[identity] = entry
            return 201, {"id": entry["id"]}


class _Handler(EmulatorHandler):
    emulator: DocumentSink
    methods = ("GET", "PUT", "POST", "DELETE")

    def dispatch(self, method: str) -> None:
        {"GET": self._get, "PUT": self._put, "POST": self._post, "DELETE": self._delete}[method]()

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_json(status, payload, headers)

    def _body(self) -> Any:
        """The JSON body, or None when the client vanished before sending all of it."""
        raw = self.read_body()
        if len(raw) < self.content_length:
            return None
        return json.loads(raw) if raw else {}

    def _identity(self) -> str | None:
        prefix = "/documents/"
        if not self.path.startswith(prefix):
            return None
        return unquote(self.path[len(prefix):].split("/", 1)[0])

    def _file_path(self) -> tuple[str, str | None] | None:
        """(identity, file name or None for the list) for /documents/{id}/files[/{name}]."""
        parts = self.path[len("/documents/"):].split("/")
        if not self.path.startswith("/documents/") or len(parts) < 2 or parts[1] != "files":
            return None
        return unquote(parts[0]), unquote(parts[2]) if len(parts) > 2 else None

    def _put_file(self, identity: str, name: str) -> None:
        state = self.emulator.state
        data = self.read_body()
        if len(data) < self.content_length:
            self.close_connection = True
            return
        if self._early_fault(state.fault()):
            return
        with state.lock:
            if identity not in state.documents:
                self._send(404, {"error": f"no document {identity}"})
                return
            files = state.files.setdefault(identity, [])
            duplicate = any(f["name"] == name for f in files)
            entry = {"identity": identity, "name": name, "size": len(data),
                     "id": f"file-{sum(len(v) for v in state.files.values()) + 1}",
                     "duplicate": duplicate, "at": time.time()}
            state.received.append({**entry, "kind": "file"})
            if not duplicate:
                files.append(entry)
        self._send(409 if duplicate else 201, {"id": entry["id"]})

    def _early_fault(self, kind: str | None) -> bool:
        state = self.emulator.state
        if kind == "429":
            retry = str(state.faults.get("retry_after", 0.1))
            self._send(429, {"error": "rate limited"}, {"Retry-After": retry})
            return True
        if kind == "500":
            self._send(500, {"error": "injected failure"})
            return True
        if kind == "400":
            self._send(400, {"error": "injected rejection: invalid VAT id"})
            return True
        return False

    def _get(self) -> None:
        state = self.emulator.state
        if self.path == "/_received":
            with state.lock:
                self._send(200, [e for e in state.received if e.get("kind") != "file"])
            return
        identity = self._identity()
        if identity is None:
            self._send(404, {"error": "unknown path"})
            return
        if self._early_fault(self._lookup_fault()):
            return
        files = self._file_path()
        if files is not None:
            with state.lock:
                known = files[0] in state.documents
                listed = list(state.files.get(files[0], []))
            self._send(200 if known else 404, listed if known else {"error": "not found"})
            return
        with state.lock:
            entry = state.documents.get(identity)
        if entry is None:
            self._send(404, {"error": "not found"})
        else:
            self._send(200, {"id": entry["id"], "number": entry["number"]})

    def _lookup_fault(self) -> str | None:
        kind = self.emulator.state.fault()
        return kind if kind in ("429", "500", "400") else None

    def _put(self) -> None:
        state = self.emulator.state
        identity = self._identity()
        if identity is None:
            self._send(404, {"error": "unknown path"})
            return
        files = self._file_path()
        if files is not None and files[1]:
            self._put_file(*files)  # type: ignore[arg-type]
            return
        body = self._body()
        if body is None:  # an aborted upload never counts as received
            self.close_connection = True
            return
        if not isinstance(body, dict) or "source_key" not in body:
            self._send(400, {"error": "the body must be a syncd document"})
            return
        kind = state.fault()
        if self._early_fault(kind):
            return
        hold = float((state.faults.get("hold") or {}).get(identity, 0.0))
        if hold:
            time.sleep(hold)
        status, payload = state.accept(identity, self.headers.get("Idempotency-Key"), body)
        latency = float(state.faults.get("latency", 0.0))
        if latency:
            time.sleep(latency)
        if kind == "500-after":
            self._send(500, {"error": "injected failure after storing"})
        elif kind == "slow":
            time.sleep(float(state.faults.get("delay", 2.0)))
            self._send(status, payload)
        else:
            self._send(status, payload)

    def _post(self) -> None:
        if self.path == "/_faults":
            self._set_faults()
        else:
            self._put()

    def _delete(self) -> None:
        identity = self._identity()
        state = self.emulator.state
        with state.lock:
            found = state.documents.pop(identity or "", None)
        self._send(204 if found else 404, {})

    def _set_faults(self) -> None:
        faults = self._body() or {}
        state = self.emulator.state
        with state.lock:
            state.faults = faults
            state.random = random.Random(faults.get("seed", 0))
        self._send(200, faults)


class DocumentSink(Emulator):
    """The sink running in a background thread; use as a context manager or start()/stop().

    It binds at construction, so `url` is known before it starts serving.
    """

    name = "document-sink"
    handler = _Handler

    def __init__(self, journal: Path | None = None, port: int = 0) -> None:
        super().__init__(port=port)
        self.state = SinkState(journal)
        self.bind()

    def set_faults(self, rate: float, kinds: list[str] | None = None, **options: Any) -> None:
        with self.state.lock:
            self.state.faults = {"rate": rate, "kinds": kinds or ["500"], **options}
            self.state.random = random.Random(options.get("seed", 0))

    def received(self) -> list[dict[str, Any]]:
        """Every document PUT, in order (file uploads are in `files_received`)."""
        with self.state.lock:
            return [e for e in self.state.received if e.get("kind") != "file"]

    def files_received(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [e for e in self.state.received if e.get("kind") == "file"]

    def files(self, identity: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.state.files.get(identity, []))

    def stored(self) -> dict[str, dict[str, Any]]:
        with self.state.lock:
            return dict(self.state.documents)

    def remove(self, identity: str) -> None:
        """Delete a document remotely, as an operator would before `documents resend`."""
        with self.state.lock:
            self.state.documents.pop(identity)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--journal", type=Path)
    args = parser.parse_args(argv)
    sink = DocumentSink(args.journal, args.port)
    print(sink.url, flush=True)
    sink.serve_forever()  # until Ctrl-C
    sys.stdout.flush()


if __name__ == "__main__":
    main()
