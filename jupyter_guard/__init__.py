

def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The jupyter-server extension (the sidebar's API); imported only when the server loads it."""
    return [{"module": "jupyter_guard.show.server"}]
