"""The provider's signing rule: the reference signer, the language renderings clients use, and the diagnosis
that names the mistake behind a wrong sign.

``reference`` is the routine itself and imports nothing else here; ``diagnosis`` builds on it (the one
direction: the reference never needs to know how it is got wrong).
"""

from .diagnosis import Diagnosis, diagnose
from .reference import (
    AMBIGUITY_IDS,
    MASK,
    SIGN_KEY,
    Ambiguity,
    Secret,
    ambiguities,
    as_secret,
    canonical_string,
    java_order_key,
    masked_preimage,
    md5_hex,
    normalise_sign,
    render,
    sign,
    signed_pairs,
    verify,
)

__all__ = [
    "AMBIGUITY_IDS",
    "MASK",
    "SIGN_KEY",
    "Ambiguity",
    "Diagnosis",
    "Secret",
    "ambiguities",
    "as_secret",
    "canonical_string",
    "diagnose",
    "java_order_key",
    "masked_preimage",
    "md5_hex",
    "normalise_sign",
    "render",
    "sign",
    "signed_pairs",
    "verify",
]
