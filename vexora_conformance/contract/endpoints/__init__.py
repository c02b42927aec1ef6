"""The provider's endpoints, one module and one spec file each (``<name>.py`` beside ``<name>.md``).

Each module builds one ``ENDPOINT``. They are found here, not listed: adding an endpoint is its two files (and
the schemas regenerated from them).
"""

from __future__ import annotations

import pkgutil
from importlib import import_module

from ..endpoint import Endpoint


def _discover() -> tuple[Endpoint, ...]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = import_module(f"{__name__}.{info.name}")
        endpoint = getattr(module, "ENDPOINT", None)
        if isinstance(endpoint, Endpoint):
            found.append(endpoint)
    return tuple(sorted(found, key=lambda e: (e.order, e.name)))


ALL: tuple[Endpoint, ...] = _discover()
