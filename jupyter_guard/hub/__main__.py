"""``python -m jupyter_guard.hub``: the hub service (``jupyter_guard.hub.service``)."""
from __future__ import annotations

from jupyter_guard.hub.service import main

if __name__ == "__main__":
    main()
