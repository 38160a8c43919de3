"""`python -m api_gateway`: uvicorn on $CODEPIPE_HOST:$CODEPIPE_PORT."""

from __future__ import annotations

import uvicorn

from shared.log import setup_logging
from shared.settings import get_settings


def main() -> None:
    settings = get_settings()
    setup_logging(settings.log_level)
    uvicorn.run(
        "api_gateway.app:app",
        host=settings.host,
        port=settings.port,
        # Our JSON logging is already installed; uvicorn's dictConfig would replace it.
        log_config=None,
        access_log=False,
        # Long-polling /result?wait= requests must not hold a shutdown for 30 s.
        timeout_graceful_shutdown=5,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
