"""Serving the dashboard with uvicorn: in the foreground (`syncd web`) or beside the daemon
(`syncd run --web`, a thread of the daemon process sharing its store).
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

import uvicorn

from syncd.config import Config
from syncd.log import get_logger
from syncd.plugins import PluginHost
from syncd.store import Store
from syncd.web.app import create_app
from syncd.web.auth import check_exposure


def _server(config: Config, store: Store, host: PluginHost, bind: str | None,
            port: int | None, attached: bool = False) -> tuple[uvicorn.Server, Any]:
    settings = config.settings.web
    bind = bind or settings.host
    port = settings.port if port is None else port
    check_exposure(config, bind)
    app = create_app(config, store, host, attached=attached)
    server = uvicorn.Server(uvicorn.Config(app, host=bind, port=port, log_config=None,
                                           access_log=False, server_header=False,
                                           proxy_headers=False, lifespan="off"))
    return server, app


def settle() -> None:
    """Move everything loaded so far (modules, plugins, templates, config: ~175,000 objects)
    out of the garbage collector's sight: a full collection then takes well under a
    millisecond instead of ~70 ms, which otherwise lands on a request every few hundred."""
    gc.collect()
    gc.freeze()


def serve(config: Config, store: Store, host: PluginHost, bind: str | None = None,
          port: int | None = None) -> None:
    """Until SIGINT/SIGTERM; background jobs are asked to stop and awaited afterwards."""
    server, app = _server(config, store, host, bind, port)
    app.state.web.counts().prime()
    settle()
    get_logger("syncd.web").info("dashboard starting", url=_url(server))
    try:
        server.run()
    finally:
        app.state.web.close()


class WebThread:
    """The dashboard in a thread of another process (the daemon)."""

    def __init__(self, config: Config, store: Store, host: PluginHost,
                 bind: str | None = None, port: int | None = None,
                 attached: bool = False) -> None:
        self.server, self.app = _server(config, store, host, bind, port, attached)
        self.thread = threading.Thread(target=self.server.run, name="syncd-web", daemon=True)

    def start(self, timeout: float = 10.0) -> WebThread:
        self.app.state.web.counts().prime()
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started and self.thread.is_alive():
            if time.monotonic() > deadline:
                raise RuntimeError("the dashboard did not start in time")
            time.sleep(0.02)
        if not self.server.started:
            raise RuntimeError(f"the dashboard could not listen on {_url(self.server)}")
        get_logger("syncd.web").info("dashboard listening", url=self.url)
        return self

    @property
    def url(self) -> str:
        return _url(self.server)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.app.state.web.close()


def _url(server: uvicorn.Server) -> str:
    cfg = server.config
    port = cfg.port
    if server.started and server.servers:
        sockets = server.servers[0].sockets
        if sockets:
            port = sockets[0].getsockname()[1]
    host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
    return f"http://{host}:{port}"
