"""``discovery serve`` (the HTTP API) and ``discovery token create`` (its bearer tokens)."""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import socket

import typer

from ..errors import InputError
from ..store.tokens import any_tokens, create_token
from ._common import app, err_console, state
from ._text import lit

__all__ = ["check_port", "exposure_warning", "is_loopback", "token_app"]

token_app = typer.Typer(help="Bearer tokens for the HTTP API.", no_args_is_help=True)
app.add_typer(token_app, name="token")


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_port(host: str, port: int) -> None:
    """Fail in one line, before any banner, when ``host:port`` cannot be bound (uvicorn would
    print its banner and then a multi-line error)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, family, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InputError(f"--host {host}: {exc.strerror}") from None
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind(infos[0][4])
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise InputError(
                    f"port {port} is in use (on {host}): stop the other server or pick --port"
                ) from None
            raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def exposure_warning(host: str, port: int, open_mode: bool) -> str | None:
    """The warning printed when an open (token-less) API listens beyond this machine."""
    if not open_mode or is_loopback(host):
        return None
    return (
        f"serving on {host} with no tokens: anyone who can reach port {port} can read every"
        " user's feeds and post events as anyone. Create tokens with `discovery token create"
        " HANDLE` (the API then requires them), or bind to 127.0.0.1."
    )


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (loopback only)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    get: str = typer.Option(
        None, "--get", help="Answer one GET request for this path in-process, print it, exit."
    ),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=32,
        help="Worker processes, each with its own snapshot caught up from the shared store.",
    ),
    worker_healthcheck: int = typer.Option(
        120,
        "--worker-healthcheck",
        min=1,
        max=86_400,
        help="With --workers N: seconds a worker may leave uvicorn's health ping unanswered"
        " before it is killed and replaced (uvicorn's own default, 5, kills busy workers).",
    ),
    feedgen_did: str = typer.Option(
        None,
        "--feedgen-did",
        envvar="DISCOVERY_FEEDGEN_DID",
        help="Also serve a Bluesky feed generator with this service DID (did:web:HOST).",
    ),
    feedgen_hostname: str = typer.Option(
        None, "--feedgen-hostname", help="Its public HTTPS host (default: the did:web host)."
    ),
    feedgen_publisher: str = typer.Option(
        None,
        "--feedgen-publisher",
        envvar="DISCOVERY_FEEDGEN_PUBLISHER",
        help="DID of the account that published the feed records (lists them, serves only them).",
    ),
    feedgen_plc_url: str = typer.Option(
        "https://plc.directory", "--feedgen-plc-url", help="PLC directory for requesters' DIDs."
    ),
    feedgen_did_web_url: str = typer.Option(
        None,
        "--feedgen-did-web-url",
        help="Read requesters' did:web documents from URL/HOST/.well-known/did.json (a mirror"
        " of your own) instead of https://HOST/.well-known/did.json.",
        show_default=False,
    ),
    impression_features: str = typer.Option(
        "all",
        "--impression-features",
        help="What each logged impression's features hold: all (the serving ranker's factors,"
        " the proposing sources and every learned-ranker feature of the item, hydrated per"
        " page: about 3 ms of CPU a large-world page) or ranker (the first two only, at no"
        " cost). Training reads neither: it rebuilds the features as of each day.",
    ),
    assign: list[str] = typer.Option(
        None,
        "--set",
        help="A ranking setting for every request, NAME=VALUE (repeatable): --set window_days=30.",
        show_default=False,
    ),
) -> None:
    """Serve the JSON API (and the web pages) over the database, with docs at /docs."""
    from ..service import create_app
    from ..service.app import DB_ENV, FEATURES_ENV, SETTINGS_ENV
    from ..settings import Settings, parse_assignments

    feedgen = None
    if feedgen_did is not None:
        from ..service.feedgen import FeedgenConfig

        feedgen = FeedgenConfig(
            feedgen_did,
            feedgen_hostname,
            feedgen_publisher,
            plc_url=feedgen_plc_url,
            did_web_url=feedgen_did_web_url,
        )
    if impression_features not in ("all", "ranker"):
        raise InputError(f"--impression-features {impression_features}: expected all or ranker")
    changes = parse_assignments(assign or [])
    if get is None:
        check_port(host, port)  # before the snapshot loads (seconds) and before any banner
    application = create_app(
        state.db,
        feedgen=feedgen,
        settings=Settings().replace(**changes) if changes else None,
        learned_features=impression_features == "all",
    )
    if get is not None:
        import warnings

        with warnings.catch_warnings():  # starlette nudges towards httpx2; httpx works
            warnings.simplefilter("ignore", DeprecationWarning)
            # StarletteDeprecationWarning is a UserWarning: silenced by its message
            warnings.filterwarnings("ignore", message=".*starlette.testclient.* is deprecated")
            from fastapi.testclient import TestClient

        with TestClient(application) as client:
            response = client.get(get)
        body = response.text
        if "json" in response.headers.get("content-type", ""):
            body = json.dumps(response.json(), ensure_ascii=False, indent=1)
        typer.echo(body)
        raise typer.Exit(0 if response.status_code < 400 else 1)

    store = state.open_store()
    try:
        open_mode = not any_tokens(store)
    finally:
        store.close()
    warning = exposure_warning(host, port, open_mode)
    if warning:
        err_console.print(f"[bold red]WARNING:[/] {warning}", highlight=False)
    import uvicorn

    shown = f"[{host}]" if ":" in host else host
    err_console.print(
        f"discovery-engine API on http://{shown}:{port}  (docs: /docs, health: /healthz)"
        + ("  [local single-user mode: no tokens]" if open_mode else "")
    )
    if feedgen is not None:
        err_console.print(
            f"Bluesky feed generator {lit(feedgen.service_did)} for {lit(feedgen.endpoint)}"
            " (/xrpc/app.bsky.feed.getFeedSkeleton, /.well-known/did.json)",
            highlight=False,
        )
    if workers == 1:
        from ..service.app import one_blas_thread_per_worker

        one_blas_thread_per_worker()
        uvicorn.run(application, host=host, port=port, log_level=log_level, access_log=False)
        return
    # Several processes: each builds its app (and snapshot) from the environment. Events
    # written through any worker reach the store first, and every worker catches its snapshot
    # up before each read, so the next request sees them whichever worker answers it.
    os.environ[DB_ENV] = str(state.sqlite_path.resolve()) if state.is_sqlite else state.db
    os.environ[SETTINGS_ENV] = json.dumps(changes)
    os.environ[FEATURES_ENV] = impression_features
    if feedgen is not None:
        from ..service.feedgen import FEEDGEN_ENV

        os.environ[FEEDGEN_ENV] = feedgen.to_env()
    # uvicorn (>= 0.30) kills a worker that leaves its health ping unanswered for 5 s; a ping is
    # answered by a thread, which waits for the GIL while one numpy call builds an index over
    # 20M follows or 47M interactions (seconds on the large world), so busy workers were being
    # killed mid-request ("Server disconnected") and restarted into a cold snapshot
    options = {
        "timeout_worker_healthcheck": worker_healthcheck,
        "log_level": log_level,
        "access_log": False,
    }
    target = "discovery.service.app:app_from_env"
    from ..service.workers import reuse_port_supported, run_workers

    if reuse_port_supported():  # one socket per worker: the kernel balances the connections
        run_workers(target, workers=workers, host=host, port=port, **options)
    else:
        uvicorn.run(target, factory=True, workers=workers, host=host, port=port, **options)


@token_app.command("create")
def token_create(
    handle: str = typer.Argument(..., help="The account this token speaks for."),
    admin: bool = typer.Option(False, "--admin", help="May read and post events for anyone."),
) -> None:
    """Create a bearer token and print it once (only its hash is stored)."""
    store = state.open_store()
    try:
        account = store.account_id(handle)
        token = create_token(store, account, admin=admin)
    finally:
        store.close()
    typer.echo(token)
    role = "admin token" if admin else "token"
    err_console.print(f"{role} for @{lit(handle.lstrip('@'))}: shown once, store it now")
