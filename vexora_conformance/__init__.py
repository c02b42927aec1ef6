"""vexora-conformance: check a Vexora Checkout API client against the documented contract.

Kept light on purpose: the pytest plugin imports this package in every test
run of an environment where it is installed, so the names below load on first
use (PEP 562). The subpackages show the architecture: ``core`` (what every layer shares), ``contract``
(what the provider documents), ``judge``, ``doors`` (every way an exchange reaches the judge), ``report``
and ``cli``; ``strategies`` is public for users' Hypothesis tests.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .contract.signing import Secret, ambiguities, canonical_string, diagnose, sign, verify
    from .core.findings import Finding, VexoraContractWarning
    from .doors.fake.provider import Call, FakeProvider

__version__ = "0.2.0"

# name -> the module that defines it
_EXPORTS = {
    "Secret": ".contract.signing", "ambiguities": ".contract.signing", "canonical_string": ".contract.signing",
    "diagnose": ".contract.signing", "sign": ".contract.signing", "verify": ".contract.signing",
    "Finding": ".core.findings", "VexoraContractWarning": ".core.findings", "Call": ".doors.fake.provider",
    "FakeProvider": ".doors.fake.provider",
}
__all__ = ["Call", "FakeProvider", "Finding", "Secret", "VexoraContractWarning", "__version__", "ambiguities",
           "canonical_string", "diagnose", "sign", "verify"]

# Modules users reach for by their short name: ``from vexora_conformance import signing``.
_MODULES = {"signing": ".contract.signing", "strategies": ".strategies"}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name], __name__), name)
    if name in _MODULES:
        return import_module(_MODULES[name], __name__)
    raise AttributeError(f"module 'vexora_conformance' has no attribute {name!r}")
