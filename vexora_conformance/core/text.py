"""Text that is safe to print: what a capture holds may carry control characters, or characters XML refuses."""

from __future__ import annotations

import re

# XML 1.0 cannot carry these; written raw, the file would not parse.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
DOCS_URL = "https://vexora-conformance.readthedocs.io/en/latest/"  # the same as [project.urls] Documentation
RULES_URL = DOCS_URL + "rules/"
STDIN = "<stdin>"  # how reports name a capture read from standard input


def docs(section: str) -> str:
    """The address of a section of the documentation (``docs("plugin")``)."""
    return f"{DOCS_URL}{section}/"


def xml_text(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)


def one_line(text: str) -> str:
    """Control characters as visible escapes: a key holding ESC or a newline cannot forge a report line."""
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)
