"""``bisearch serve``: the search page and JSON API on a local port.

The web stack is an optional extra (``pip install 'bisearch[web]'``), so
FastAPI and uvicorn are imported only when the command runs. This module
imports nothing from :mod:`search.cli` at import time, so ``search.cli`` can
import it at the top without a cycle.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import click

from search import config

EXIT_USAGE = 2
WEB_HINT = "pip install 'bisearch[web]'"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind_error(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (None if it can), checked
    before uvicorn tries, so the user gets one line instead of a log."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot resolve {host!r}: {exc.strerror or exc}"
    family, kind, proto, _name, addr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


@click.command("serve")
@click.option(
    "--index",
    "index_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Index directory [env {config.ENV_INDEX}; default {config.default_index_dir()}].",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
def serve(index_dir: Path | None, host: str, port: int) -> None:
    """Serve a search page and a JSON API (read-only) at http://HOST:PORT/.

    \b
    GET /                      the search page (Persian right-to-left, English left-to-right)
    GET /api/search?q=&lang=&limit=&offset=
    GET /api/stats
    GET /api/documents/{id}
    GET /api/openapi.json      the API description
    """
    from search.cli import handle_errors  # here, not at import: cli imports this module

    handle_errors(_serve)(index_dir, host, port)


def _serve(index_dir: Path | None, host: str, port: int) -> None:
    from search.cli import _fail

    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError as exc:
        _fail(f"`bisearch serve` needs {exc.name or 'fastapi and uvicorn'}, which is not installed", WEB_HINT, EXIT_USAGE)
        return
    from search.engine import ensure_seed_index
    from search.web import LOOPBACK_HOSTS, create_app

    if index_dir is not None:
        path = index_dir
    else:
        # Like `bisearch search`: the default index, built from the seeds on first use.
        path = config.default_index_dir()
        ensure_seed_index(path, log=lambda m: click.echo(m, err=True))
    problem = _bind_error(host, port)
    if problem:
        _fail(problem, "choose another --port (or stop the program using it)", EXIT_USAGE)
        return
    loopback = _is_loopback(host)
    app = create_app(path, allowed_hosts=[*LOOPBACK_HOSTS, host.strip("[]")] if loopback else None)
    if not loopback:
        click.secho(
            f"warning: listening on {host}, not loopback: anyone who can reach this port can search the index",
            fg="yellow",
            err=True,
        )
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"serving {path} at http://{shown}:{port}/ (Ctrl-C to stop)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
