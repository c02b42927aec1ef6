"""vexora-conformance: check a Vexora Checkout API client against the documented contract.

Kept light on purpose: the pytest plugin imports this package in every test
run of an environment where it is installed. Only the signer is re-exported;
everything else lives in its own module (``judge``, ``capture``, ``strategies``...).
"""

from .signing import Secret, ambiguities, canonical_string, diagnose, sign, verify

__version__ = "0.1.0"

__all__ = ["Secret", "__version__", "ambiguities", "canonical_string", "diagnose", "sign", "verify"]
