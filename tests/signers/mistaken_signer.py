"""A signer that makes one named mistake (argv[1]), written without vexora_conformance, for check-signer tests.

Other argv[1] values: "correct", "crash" (exits after 3 cases), "hang" (stops answering after 3),
"garbage" (prints text that is not a sign), "silent" (reads but never answers).
"""

import hashlib
import json
import sys
import time
import urllib.parse


def java_key(k):
    return k.encode("utf-16-be", "surrogatepass")


def render(v):
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    return "null" if v is None else "true" if v is True else "false" if v is False else str(v)


def sign(params, secret, mistake=None):
    """The sign with one mistake, for the test suite's independent oracle."""
    global MISTAKE
    MISTAKE = mistake if mistake is not None else MISTAKE
    params = dict(params)
    params.pop("sign", None)
    if MISTAKE == "sign-included":
        params["sign"] = None
    if MISTAKE == "sign-included-empty":
        params["sign"] = ""
    if MISTAKE == "merchant-no-included":
        params["merchantNo"] = "1000000001"
    keys = {"insertion-order": list(params), "case-insensitive-sort": sorted(params, key=lambda k: java_key(k.lower())),
            "codepoint-order": sorted(params)}.get(MISTAKE, sorted(params, key=java_key))
    pairs = []
    for k in keys:
        v = params[k]
        if v is None and MISTAKE == "null-skipped":
            continue
        if isinstance(v, (dict, list)) and MISTAKE == "nested-skipped":
            continue
        text = render(v)
        if isinstance(v, bool) and MISTAKE == "boolean-as-digit":
            text = "1" if v else ""  # PHP's (string) cast
        if MISTAKE == "values-trimmed":
            text = text.strip()
        if MISTAKE == "url-encoded-values":
            text = urllib.parse.quote_plus(text, safe="", errors="replace")
        if MISTAKE == "url-encoded-values-raw":  # PHP rawurlencode: %20 for a space
            text = urllib.parse.quote(text, safe="-_.~", errors="replace")
        if text == "" and MISTAKE != "empty-included" and not (k == "sign" and MISTAKE == "sign-included-empty"):
            continue
        pairs.append(f"{k}={text}")
    joined = ("&" if MISTAKE == "ampersand-joined" else "").join(pairs)
    if MISTAKE == "secret-trimmed":
        secret = secret.strip()  # PHP trim() on the configured secret
    data = {"secret-prefixed": secret + joined, "key-param-secret": joined + "&key=" + secret}.get(
        MISTAKE, joined + secret)
    digest = hashlib.md5(data.encode("utf-8", "replace")).hexdigest()
    return digest.upper() if MISTAKE == "uppercase-hex" else digest


def main():
    for n, line in enumerate(sys.stdin):
        if MISTAKE in ("crash", "hang") and n == 3:
            sys.exit(3) if MISTAKE == "crash" else time.sleep(60)
        if MISTAKE == "silent":
            continue
        case = json.loads(line)
        print("not a sign, sorry" if MISTAKE == "garbage" else sign(case["params"], case["secret"]), flush=True)


MISTAKE = "correct"
if __name__ == "__main__":
    MISTAKE = sys.argv[1]
    main()
