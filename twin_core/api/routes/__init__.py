"""The API's routes, one module per area; ``twin_core.api.app.create_app`` mounts them (``/v1/*`` behind the key)."""
