"""Write ``vexora_conformance/contract/data/sign-vectors.json`` (Wycheproof-style test vectors).

The inputs below are chosen by hand, one trap each. The expected values are
computed with the Python reference and are *confirmed* by the Java and Node
implementations in ``tests/crosscheck/`` (see ``tests/test_vectors.py``); a
vector the independent implementations disagree with fails the suite.

    python tests/vectors/make_vectors.py          # rewrite the file
    python tests/vectors/make_vectors.py --check  # exit 1 if the file is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from vexora_conformance.contract import signing
from vexora_conformance.contract.registry import contract

OUT = Path(__file__).resolve().parents[2] / "vexora_conformance" / "contract" / "data" / "sign-vectors.json"
SECRET = "sandbox-secret-8f3a"

FLAGS = {
    "PageExample": "fields and values of the provider's example request",
    "JavaOrder": "key order where Java's UTF-16 order matters (case, prefixes, digits, '_'); a signer failing these "
                 "usually has case-insensitive-sort or insertion-order",
    "AstralKey": "keys mixing U+E000..U+FFFF with characters outside the BMP: Java order differs from code-point order "
                 "(a signer failing these: codepoint-order)",
    "Unicode": "non-ASCII values (Spanish accents, emoji, CJK), signed as UTF-8",
    "EmptySkipped": "empty-string values are skipped entirely (failing: empty-included)",
    "WhitespaceKept": "whitespace-only and padded values are signed as they are (failing: values-trimmed)",
    "NullSigned": "JSON null is signed as the text 'null' (ambiguous: send no key instead; failing: null-skipped)",
    "Integer": "JSON integers sign as their digits",
    "Boolean": "JSON booleans sign as true/false (ambiguous: the contract documents strings; failing: "
               "boolean-as-digit)",
    "SpecialChars": "'=', '&' and other separators inside values are signed raw, not escaped (failing: "
                    "url-encoded-values)",
    "LongValue": "very long values",
    "SignIgnored": "the sign key is never part of the signed string",
    "SecretVariety": "secrets with unusual characters, a trailing space among them (failing: secret-trimmed)",
    "LoneSurrogate": "a lone UTF-16 surrogate: Java's getBytes(UTF_8) hashes it as '?' (Node would hash U+FFFD)",
    "BeyondDoublePrecision": "an integer JavaScript's JSON.parse cannot hold exactly (JS signers must parse big ints; "
                             "failing: integer-precision-lost)",
}


def example() -> dict[str, Any]:
    return dict(contract("checkout").example_request)


def groups() -> list[tuple[str, str, list[tuple[str, dict[str, Any], list[str], str]]]]:
    ex = example()
    no_sign = {k: v for k, v in ex.items() if k != "sign"}
    required_only = {k: ex[k] for k in ("timestamp", "tradeNo", "amount", "notifyUrl")}
    page = [
        ("the page's example request, whole (its own sign is illustrative and ignored)", ex, ["PageExample"], SECRET),
        ("the page's example without a sign key", no_sign, ["PageExample"], SECRET),
        ("only the required fields of the example", required_only, ["PageExample"], SECRET),
        ("the example with timestamp as a JSON number (the table's 'long')",
         {**no_sign, "timestamp": 1728609257212}, ["PageExample", "Integer"], SECRET),
        ("wayCode store", {**required_only, "wayCode": "store"}, ["PageExample"], SECRET),
        ("the example signed with another secret", no_sign, ["PageExample"], "another-secret"),
        ("one field only", {"amount": "300"}, [], SECRET),
        ("no signable field at all: only the secret is hashed", {"sign": "x"}, ["SignIgnored"], SECRET),
        ("empty body", {}, [], SECRET),
    ]
    order = [
        ("upper-case keys sort before lower-case (Z < a)", {"a": "1", "Z": "2", "b": "3", "B": "4"}, ["JavaOrder"], SECRET),
        ("a prefix sorts before its extensions", {"ab": "2", "a": "1", "abc": "3", "aa": "4"}, ["JavaOrder"], SECRET),
        ("digits sort before letters, '_' between cases", {"a_b": "1", "a1": "2", "aB": "3", "ab": "4", "a": "5"},
         ["JavaOrder"], SECRET),
        ("amount vs Amount vs AMOUNT", {"amount": "1", "Amount": "2", "AMOUNT": "3"}, ["JavaOrder"], SECRET),
        ("tradeNo and timestamp share a prefix", {"tradeNo": "t", "timestamp": "1", "tr": "x", "t": "y"},
         ["JavaOrder"], SECRET),
        ("numeric-looking keys sort as text", {"10": "a", "9": "b", "1": "c", "01": "d"}, ["JavaOrder"], SECRET),
        ("accented key sorts after ASCII", {"é": "1", "e": "2", "z": "3"}, ["JavaOrder", "Unicode"], SECRET),
        ("astral key vs U+FFFD key: Java puts the astral one first",
         {"\U0001F600": "astral", "\uFFFD": "bmp-high"}, ["AstralKey"], SECRET),
        ("astral key vs U+E000 (private use) key", {"\uE000": "pua", "\U00010000": "linear-b"}, ["AstralKey"], SECRET),
        ("astral and BMP-high keys with ASCII", {"z": "1", "\U0001F4B0": "2", "\uFF21": "3", "A": "4"},
         ["AstralKey"], SECRET),
        ("CJK keys", {"金额": "300", "订单": "t1", "a": "x"}, ["JavaOrder", "Unicode"], SECRET),
        ("keys that differ only after a shared 20-char prefix",
         {"x" * 20 + "b": "2", "x" * 20 + "a": "1", "x" * 20: "0"}, ["JavaOrder"], SECRET),
    ]
    unicode_values = [
        ("Spanish accents in the payer's name", {"payer": "José Ñúñez Pérez", "amount": "300"}, ["Unicode"], SECRET),
        ("Spanish punctuation", {"remark": "¿Pagó? ¡Sí!", "amount": "1"}, ["Unicode"], SECRET),
        ("emoji in remark", {"remark": "gracias 🙏🎉", "amount": "5"}, ["Unicode"], SECRET),
        ("CJK in remark", {"remark": "测试订单", "amount": "5"}, ["Unicode"], SECRET),
        ("combining characters are not normalised", {"payer": "Jose\u0301", "amount": "5"}, ["Unicode"], SECRET),
        ("right-to-left text", {"remark": "مرحبا", "amount": "5"}, ["Unicode"], SECRET),
        ("zero-width joiner emoji", {"remark": "👩‍💻", "amount": "5"}, ["Unicode"], SECRET),
        ("non-breaking space is kept", {"remark": "a\u00a0b", "amount": "5"}, ["Unicode", "WhitespaceKept"], SECRET),
    ]
    empties = [
        ("an empty optional value is skipped", {"amount": "300", "remark": "", "tradeNo": "t1"}, ["EmptySkipped"], SECRET),
        ("every optional value empty", {"amount": "300", "mobile": "", "email": "", "payer": "", "remark": ""},
         ["EmptySkipped"], SECRET),
        ("a whitespace-only value is signed", {"amount": "300", "remark": " "}, ["WhitespaceKept"], SECRET),
        ("tabs and newlines are signed", {"amount": "300", "remark": "\t\n"}, ["WhitespaceKept"], SECRET),
        ("leading and trailing spaces are kept", {"amount": "300", "payer": "  kevin  "}, ["WhitespaceKept"], SECRET),
        ("null is signed as 'null'", {"amount": "300", "remark": None}, ["NullSigned"], SECRET),
        ("several nulls", {"amount": "300", "remark": None, "email": None, "tradeNo": "t"}, ["NullSigned"], SECRET),
        ("the text 'null' signs the same as a null", {"amount": "300", "remark": "null"}, [], SECRET),
        ("an empty key with a value", {"": "v", "amount": "1"}, [], SECRET),
        ("empty sign key is still skipped", {"sign": "", "amount": "1"}, ["SignIgnored", "EmptySkipped"], SECRET),
        ("Sign with a capital S is an ordinary key", {"Sign": "x", "amount": "1"}, ["SignIgnored", "JavaOrder"], SECRET),
    ]
    numbers = [
        ("13-digit millisecond timestamp as a number", {"timestamp": 1715941383720, "amount": "300"}, ["Integer"], SECRET),
        ("13-digit timestamp as a string", {"timestamp": "1715941383720", "amount": "300"}, ["Integer"], SECRET),
        ("zero", {"amount": 0}, ["Integer"], SECRET),
        ("negative integer", {"amount": -300}, ["Integer"], SECRET),
        ("large integer past 2^53", {"n": 9007199254740993}, ["Integer", "BeyondDoublePrecision"], SECRET),
        ("integer amount", {"amount": 300, "tradeNo": "t"}, ["Integer"], SECRET),
        ("leading zeros in a string are kept", {"amount": "0300"}, [], SECRET),
        ("true", {"flag": True, "amount": "1"}, ["Boolean"], SECRET),
        ("false", {"flag": False, "amount": "1"}, ["Boolean"], SECRET),
        ("the text 'true' signs the same as true", {"flag": "true", "amount": "1"}, [], SECRET),
    ]
    special = [
        ("'=' inside a value", {"remark": "a=b", "amount": "1"}, ["SpecialChars"], SECRET),
        ("'&' inside a value", {"remark": "a&b=c", "amount": "1"}, ["SpecialChars"], SECRET),
        ("a URL with a query string", {"notifyUrl": "https://m.example/cb?x=1&y=2", "amount": "1"},
         ["SpecialChars"], SECRET),
        ("percent signs are not decoded", {"remark": "100%25", "amount": "1"}, ["SpecialChars"], SECRET),
        ("plus signs are not decoded", {"remark": "a+b", "amount": "1"}, ["SpecialChars"], SECRET),
        ("backslash and quote", {"remark": 'a\\b"c', "amount": "1"}, ["SpecialChars"], SECRET),
        ("a value that looks like the next pair", {"a": "1b=2", "c": "3"}, ["SpecialChars"], SECRET),
        ("key containing '='", {"a=b": "c", "amount": "1"}, ["SpecialChars"], SECRET),
        ("a value of 10,000 characters", {"remark": "x" * 10000, "amount": "1"}, ["LongValue"], SECRET),
        ("a value of 2,000 emoji", {"remark": "💸" * 2000, "amount": "1"}, ["LongValue", "Unicode"], SECRET),
        ("many keys", {f"k{i:03d}": str(i) for i in range(200)}, ["LongValue", "JavaOrder"], SECRET),
    ]
    secrets = [
        ("secret with spaces", {"amount": "1"}, ["SecretVariety"], "sec ret "),
        ("secret with non-ASCII", {"amount": "1"}, ["SecretVariety", "Unicode"], "sécret-ñ-秘密"),
        ("32-hex secret, typical sandbox format", {"amount": "1"}, ["SecretVariety"], "0123456789abcdef0123456789abcdef"),
        ("empty secret", {"amount": "1"}, ["SecretVariety"], ""),
        ("lone surrogate in a value", {"remark": "\ud800", "amount": "1"}, ["LoneSurrogate"], SECRET),
    ]
    return [
        ("page", "the page's example and its fields", page),
        ("order", "key ordering traps", order),
        ("unicode", "non-ASCII values", unicode_values),
        ("empty", "empty, whitespace and null values", empties),
        ("numbers", "integers and booleans", numbers),
        ("special", "separators, escapes and long values", special),
        ("secret", "secret variety", secrets),
    ]


def build() -> dict[str, Any]:
    tc = 0
    test_groups = []
    for kind, comment, cases in groups():
        tests = []
        for text, params, flags, secret in cases:
            tc += 1
            tests.append({
                "tcId": tc,
                "comment": text,
                "flags": flags,
                "params": params,
                "secret": secret,
                "canonical": signing.canonical_string(params),
                "sign": signing.sign(params, secret),
                "ambiguities": sorted({a.id for a in signing.ambiguities(params)}),
            })
        test_groups.append({"type": kind, "comment": comment, "tests": tests})
    return {
        "algorithm": "vexora-checkout-sign-md5",
        "schema": "vexora-sign-vectors-v1",
        "numberOfTests": tc,
        "header": [
            "Test vectors for the Vexora Checkout API request signature.",
            "sign = lowercase hex MD5 of UTF-8(canonical + secret); canonical = every body key except 'sign',",
            "sorted by UTF-16 code units (Java String.compareTo), as key=String.valueOf(value), skipping empty",
            "renderings, concatenated with no separator. Confirmed by independent Java and Node implementations.",
            "'ambiguities' lists values whose rendering depends on the server's JSON library (see README).",
        ],
        "notes": FLAGS,
        "testGroups": test_groups,
    }


def render() -> str:
    return json.dumps(build(), ensure_ascii=True, indent=1) + "\n"


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if OUT.read_text(encoding="utf-8") == text else 1)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({build()['numberOfTests']} vectors)")
