"""Local HTTP servers for tests: an aiohttp application on a free port of 127.0.0.1."""

from __future__ import annotations

from aiohttp import web


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Start app on a free port of 127.0.0.1; its runner (to clean up) and base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    # The port the system chose: the runner's listening socket's address.
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"
