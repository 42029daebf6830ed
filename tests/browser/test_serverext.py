"""``realtime_nb_serverext``: installed with realtime_nb, a real Jupyter Server loads it and the
socket that carries kernel messages to the browser has ``TCP_NODELAY`` (Nagle off); disabled
the documented way, the same server leaves Nagle on.

The server is the browser harness's JupyterLab (no browser needed): a kernel is started over
REST and its channels opened with a WebSocket client, as JupyterLab opens them. A probe
extension in the server's own directory reports the option of each kernel WebSocket's socket.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from pathlib import Path

import pytest
import websockets

from .conftest import start_lab_server, stop_lab_server

PROBE = '''
import gc, json, socket
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler


class Probe(JupyterHandler):
    def get(self):
        out = []
        for h in gc.get_objects():
            if isinstance(h, KernelWebsocketHandler) and h.ws_connection is not None:
                sock = h.ws_connection.stream.socket
                out.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        self.finish(json.dumps(out))


def _jupyter_server_extension_points():
    return [{"module": "nodelay_probe"}]


def _load_jupyter_server_extension(app):
    app.web_app.add_handlers(".*$", [("/rnb-probe/nodelay", Probe)])
'''


def _nodelay_of_kernel_sockets(tmp: Path, enabled: bool) -> list[int]:
    (tmp / "root").mkdir(parents=True)
    (tmp / "root" / "nodelay_probe.py").write_text(PROBE)  # the server's cwd is on its path
    (tmp / "config").mkdir(parents=True)
    extensions = {"nodelay_probe": True}
    if not enabled:  # what `jupyter server extension disable realtime_nb_serverext` writes
        extensions["realtime_nb_serverext"] = False
    (tmp / "config" / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": extensions}}))
    server = start_lab_server(tmp)
    try:
        req = urllib.request.Request(f"{server.url}/api/kernels", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            kernel = json.loads(r.read())["id"]
        ws_url = (server.url.replace("http", "ws", 1)
                  + f"/api/kernels/{kernel}/channels?session_id={uuid.uuid4().hex}")

        async def probe() -> list[int]:
            async with websockets.connect(
                    ws_url, subprotocols=["v1.kernel.websocket.jupyter.org"],  # type: ignore[list-item]
                    proxy=None):
                await asyncio.sleep(0.5)  # the server has run the connection's connect()
                return await asyncio.to_thread(server.api, "/rnb-probe/nodelay")

        got = asyncio.run(probe())
        loaded = "realtime_nb_serverext: kernel WebSockets send without" in server.log_text()
        assert loaded == enabled, server.log_text()
        return got
    finally:
        stop_lab_server(server)


def test_kernel_websockets_send_without_nagle(tmp_path):
    assert _nodelay_of_kernel_sockets(tmp_path / "on", enabled=True) == [1]


def test_disabled_the_documented_way_nagle_stays_on(tmp_path):
    assert _nodelay_of_kernel_sockets(tmp_path / "off", enabled=False) == [0]


@pytest.mark.parametrize("twice", [False, True])
def test_the_connection_class_is_wrapped_once(twice):
    from jupyter_server.services.kernels.connection.channels import (
        ZMQChannelsWebsocketConnection,
    )

    from realtime_nb_serverext import nodelay_connection

    cls = nodelay_connection(ZMQChannelsWebsocketConnection)
    if twice:
        assert nodelay_connection(cls) is cls
    assert issubclass(cls, ZMQChannelsWebsocketConnection)
    assert cls.__mro__[1] is ZMQChannelsWebsocketConnection
