"""The pytest plugin, tested as a user meets it: inner test files run with pytester."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import signed_body
from vexora_conformance.contract import signing
from vexora_conformance.doors.fake.mock import fake_provider
from vexora_conformance.strategies import valid_bodies

# An inner client with its own signer (Java semantics for ASCII keys: null signs as "null").
CLIENT = '''
import hashlib, json, time, httpx, pytest

SECRET, MERCHANT = "vexora-test-secret", "1000000001"
URL = "https://sandbox.example/mexico/v1/vexora/checkout"

def render(v):
    return "null" if v is None else ("true" if v is True else "false" if v is False else str(v))

def sign(body, secret=SECRET, keys=None, skip_null=False):
    keys = keys if keys is not None else sorted(body)
    s = "".join(f"{k}={render(body[k])}" for k in keys
                if k != "sign" and render(body[k]) != "" and not (skip_null and body[k] is None))
    return hashlib.md5((s + secret).encode()).hexdigest()

def body(**kw):
    b = {"timestamp": str(int(time.time() * 1000)), "tradeNo": "T" + str(time.time_ns()), "amount": "300",
         "notifyUrl": "https://shop.example/notify", "remark": "r"}
    b.update(kw)
    return {k: v for k, v in b.items() if v is not ...}

def send(b, method="POST", url=URL, headers=None, **kw):
    headers = {"merchantNo": MERCHANT} if headers is None else headers
    return httpx.request(method, url, headers=headers, **({"json": b} if "data" not in kw else {}), **kw)
'''

DEFECTS = {
    "request.method": 'b = body(); b["sign"] = sign(b); send(b, method="PUT")',
    "request.path": 'b = body(); b["sign"] = sign(b); send(b, url=URL.replace("/v1/", "/v2/"))',
    "request.json": 'b = body(); b["sign"] = sign(b); send(b, data=b)',
    "request.merchant-no": 'b = body(); b["sign"] = sign(b); send(b, headers={})',
    "request.merchant-no ": 'b = body(); b["sign"] = sign(b); send(b, headers={"merchantNo": "999"})',
    "sign.format": 'b = body(); b["sign"] = sign(b).upper(); send(b)',
    "sign.mismatch": 'b = body(); b["sign"] = sign(b, keys=list(b)); send(b)',
    "sign.mismatch ": 'b = body(remark=None); b["sign"] = sign(b, skip_null=True); send(b)',
    "request.amount": 'b = body(amount="300.50"); b["sign"] = sign(b); send(b)',
    "request.required": 'b = body(notifyUrl=...); b["sign"] = sign(b); send(b)',
    "trade-no.duplicate": 'b = body(); b["sign"] = sign(b); send(b); send(b)',
    "timestamp.skew": 'b = body(timestamp=str(int(time.time() * 1000) - 3_600_000)); b["sign"] = sign(b); send(b)',
}
# Where the diagnosis must name the mistake, not only the rule.
DIAGNOSIS = {"sign.mismatch": "insertion-order", "sign.mismatch ": "null-skipped", "sign.format": "uppercase-hex"}


def inner(pytester: pytest.Pytester, statement: str, marker: str = "", warnings_fail: bool = False) -> Any:
    pytester.makepyfile(CLIENT + f"\n\n{marker}\ndef test_client(vexora_mock):\n    {statement}\n")
    return pytester.runpytest("-p", "no:cacheprovider", *(["--vexora-fail-on", "warning"] if warnings_fail else []))


def test_a_correct_client_passes(pytester: pytest.Pytester) -> None:
    result = inner(pytester, 'b = body(); b["sign"] = sign(b); r = send(b); assert r.json()["code"] == "0000"')
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("rule", list(DEFECTS))
def test_each_defective_client_fails_with_its_rule(pytester: pytest.Pytester, rule: str) -> None:
    result = inner(pytester, DEFECTS[rule])
    result.assert_outcomes(passed=1, errors=1) if rule != "timestamp.skew" else result.assert_outcomes(passed=1)
    if rule == "timestamp.skew":  # a warning: it fails only with --vexora-fail-on warning
        result = inner(pytester, DEFECTS[rule], warnings_fail=True)
        result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*vexora_mock: the client broke the provider's contract*",
        f"*call #* {rule.strip()} *",
        "*hint: *",
    ])
    if rule in DIAGNOSIS:
        result.stdout.fnmatch_lines([f"*hint: diagnosis: {DIAGNOSIS[rule]}*"])
    result.stdout.no_fnmatch_line("*vexora_conformance/*.py*")  # plugin frames stay out


def test_a_bad_request_gets_an_error_envelope_not_a_success(pytester: pytest.Pytester) -> None:
    result = inner(pytester, 'b = body(amount="1.5"); b["sign"] = sign(b); r = send(b)\n'
                             '    assert r.json()["code"] == "8000" and r.json()["data"] is None\n'
                             '    assert "amount" in r.json()["msg"]', marker='@pytest.mark.vexora(check=False)')
    result.assert_outcomes(passed=1)


def test_check_false_turns_the_teardown_check_off(pytester: pytest.Pytester) -> None:
    result = inner(pytester, DEFECTS["request.method"], marker="@pytest.mark.vexora(check=False)")
    result.assert_outcomes(passed=1)


def test_a_typo_in_a_marker_keyword_is_an_error(pytester: pytest.Pytester) -> None:
    result = inner(pytester, "pass", marker='@pytest.mark.vexora(secert="x")')
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*@pytest.mark.vexora: unknown keyword secert; valid keywords: secret, "
                                 "merchant_no, base_url, market, link_field, fail_on, strict_tables, skew_window, "
                                 "balance, check*"])
    result.stdout.no_fnmatch_line("*from_config*")  # no internal function named
    # said once, as itself: not also as a bare exception that "another exception occurred" while handling
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
    result.stdout.no_fnmatch_line("unknown keyword secert")


def test_the_marker_is_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.vexora(strict_tables=True)\ndef test_x(): pass\n")
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


def test_marker_and_options_set_credentials(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nvexora_merchant_no = 2000000002\n")
    statement = ('assert vexora_mock.merchant_no == "2000000002"\n'
                 '    assert vexora_mock.secret.reveal() == "from-marker"')
    pytester.makepyfile(CLIENT + '\n\n@pytest.mark.vexora(secret="from-marker")\n'
                                 f"def test_client(vexora_mock):\n    {statement}\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_secret_never_appears_in_a_failure_report(pytester: pytest.Pytester) -> None:
    canary = "canary-secret-5e0b"
    statement = 'b = body(); b["sign"] = sign(b, secret="wrong"); send(b)'
    result = inner(pytester, statement, marker=f'@pytest.mark.vexora(secret="{canary}")')
    result.assert_outcomes(passed=1, errors=1)
    assert canary not in result.stdout.str() + result.stderr.str()


def test_base_url_limits_what_is_answered(pytester: pytest.Pytester) -> None:
    statement = ('b = body(); b["sign"] = sign(b)\n'
                 '    with pytest.raises(Exception, match="not answered by the fake provider"):\n'
                 '        send(b)  # another host\n'
                 '    assert send(b, url="https://pay.example/mx/v1/vexora/checkout").json()["code"] == "0000"')
    result = inner(pytester, statement, marker='@pytest.mark.vexora(base_url="https://pay.example/mx")')
    result.assert_outcomes(passed=1)


def test_session_wide_trade_no_uniqueness(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CLIENT + '''
B = body()
B["sign"] = sign(B)

def test_first(vexora_mock):
    send(B)

def test_second(vexora_mock):
    send(B)
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    result = pytester.runpytest("-p", "no:cacheprovider", "--vexora-session-trade-nos")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*trade-no.duplicate*"])


def test_installed_entry_point_in_a_subprocess(pytester: pytest.Pytester) -> None:
    """No conftest, no -p: installing the package is enough."""
    pytester.makepyfile(CLIENT + '\n\ndef test_client(vexora_mock):\n    b = body(); b["sign"] = sign(b); send(b)\n')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_works_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CLIENT + "".join(
        f'\n\ndef test_client_{i}(vexora_mock):\n    b = body(); b["sign"] = sign(b); send(b)\n' for i in range(4)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=4)


def test_async_clients(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CLIENT + '''

@pytest.fixture
def anyio_backend():
    return "asyncio"

@pytest.mark.anyio
async def test_async(vexora_mock):
    b = body(); b["sign"] = sign(b)
    async with httpx.AsyncClient() as client:
        r = await client.post(URL, json=b, headers={"merchantNo": MERCHANT})
    assert r.json()["code"] == "0000"
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_plugin_import_stays_light() -> None:
    code = ("import sys, vexora_conformance.plugin; "
            "print(sorted(m for m in ('respx', 'httpx', 'jsonschema', 'hypothesis', "
            "'vexora_conformance.contract.signing.reference', 'vexora_conformance.judge.exchange') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- the fake provider itself, used directly ---

SECRET = "vexora-test-secret"


def _signed(**kw: Any) -> dict[str, Any]:
    return signed_body(SECRET, **{"remark": "keep me", **kw})


def _post(body: dict[str, Any]) -> httpx.Response:
    return httpx.post("https://h.example/v1/vexora/checkout", json=body, headers={"merchantNo": "1000000001"})


def test_each_queued_outcome_reaches_the_client() -> None:
    with fake_provider(check=False) as fake:
        fake.fail_with_envelope("5000", "system exception")
        fake.fail_with_status("00029")
        fake.fail_with_http(502)
        fake.answer_not_json()
        fake.fail_to_connect()
        fake.time_out()
        fake.respond_slowly(0.2)
        r = _post(_signed())
        assert (r.json()["code"], r.json()["msg"], r.json()["data"]) == ("5000", "system exception", None)
        r = _post(_signed())
        assert r.json()["code"] == "0000" and r.json()["data"]["status"] == "00029"
        assert _post(_signed()).status_code == 502
        with pytest.raises(ValueError):
            _post(_signed()).json()
        with pytest.raises(httpx.ConnectError):
            _post(_signed())
        with pytest.raises(httpx.ReadTimeout):
            _post(_signed())
        started = time.perf_counter()
        assert _post(_signed()).json()["code"] == "0000"
        assert time.perf_counter() - started >= 0.2
        assert _post(_signed()).json()["data"]["status"] == "0015"  # the queue is empty again
    assert fake.findings == []


def test_success_echoes_and_platform_numbers_are_unique() -> None:
    with fake_provider() as fake:
        a, b = _post(_signed()).json()["data"], _post(_signed(remark="other")).json()["data"]
    assert a["remark"] == "keep me" and b["remark"] == "other"
    assert a["platFormTradeNo"] != b["platFormTradeNo"]
    assert fake.calls[0].body["tradeNo"] == a["tradeNo"]


@settings(max_examples=40)
@given(valid_bodies(secret=SECRET))
def test_every_success_response_validates_and_every_valid_body_is_accepted(body: dict[str, Any]) -> None:
    body["timestamp"] = str(int(time.time() * 1000))  # within the skew window of "now"
    body["sign"] = signing.sign(body, SECRET)
    with fake_provider() as fake:  # the context-manager form: fresh per example
        response = _post(body)
    from vexora_conformance.contract.schema.compile import checker

    assert checker("mexico/checkout-response-body")(response.json()) == []
    assert fake.findings == []


def test_context_manager_checks_on_exit() -> None:
    with pytest.raises(AssertionError, match=r"request\.method"), fake_provider():
        httpx.put("https://h.example/v1/vexora/checkout", json=_signed(), headers={"merchantNo": "1000000001"})


# --- as a merchant meets it: warnings, one report per broken test, method and path, markers, coverage ---

def test_warnings_of_a_passing_test_show_in_pytests_summary(pytester: pytest.Pytester) -> None:
    stale = 'b = body(timestamp=str(int(time.time() * 1000) - 3_600_000), currency="MXN"); b["sign"] = sign(b); send(b)'
    result = inner(pytester, stale)
    result.assert_outcomes(passed=1, warnings=2)
    result.stdout.fnmatch_lines(["*VexoraContractWarning: request.unknown-field /currency*",
                                 "*VexoraContractWarning: timestamp.skew /timestamp: timestamp is * s behind*"])
    result.stdout.no_fnmatch_line("*vexora_conformance/plugin.py*")
    escalated = pytester.runpytest("-p", "no:cacheprovider", "-W", "error::vexora_conformance.VexoraContractWarning")
    escalated.assert_outcomes(passed=1, errors=1)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_test_that_failed_gets_the_findings_in_its_own_report(pytester: pytest.Pytester,
                                                                workers: list[str]) -> None:
    """The client raised on the error envelope: one failure, holding the findings and the diagnosis."""
    statement = ('b = body(); b["sign"] = sign(b, keys=list(b)); r = send(b)\n'
                 '    assert r.json()["code"] == "0000", "the client saw an error"')
    pytester.makepyfile(CLIENT + f"\n\ndef test_client(vexora_mock):\n    {statement}\n")
    result = pytester.runpytest("-p", "no:cacheprovider", *workers)
    result.assert_outcomes(failed=1)  # not "1 failed, 1 error"
    result.stdout.fnmatch_lines(["*the client saw an error*", "*vexora_mock findings*",
                                 "*(1 error(s), 0 warning(s))*", "*sign.mismatch*", "*diagnosis: insertion-order*"])


def test_the_header_counts_what_it_lists(pytester: pytest.Pytester) -> None:
    result = inner(pytester, DEFECTS["sign.mismatch "])
    result.stdout.fnmatch_lines(["*(2 error(s), 1 warning(s)):*"])


def test_wrong_method_and_wrong_path_are_judged_and_answered(pytester: pytest.Pytester) -> None:
    statement = ('r = send(None, method="GET", url=URL + "?email=jose.perez@example.mx&payer=Jose")\n'
                 '    assert r.status_code == 405\n'
                 '    b = body(); b["sign"] = sign(b)\n'
                 '    r = send(b, url=URL.replace("/checkout", "/pay"))\n'
                 '    assert r.status_code == 404')
    result = inner(pytester, statement)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*request.method*",
                                 "*request.unknown-endpoint*'/mexico/v1/vexora/pay' is not an endpoint*"])
    assert "jose.perez" not in result.stdout.str() and "AllMockedAssertionError" not in result.stdout.str()


def test_another_host_raises_a_message_naming_what_is_mocked(pytester: pytest.Pytester) -> None:
    statement = ('with pytest.raises(Exception) as info:\n'
                 '        httpx.post("https://api.other.example/v1/orders?email=jose.perez@example.mx", json={"a": 1})\n'
                 '    text = str(info.value)\n'
                 '    assert "api.other.example/v1/orders" in text and "mocks every request to pay.example" in text\n'
                 '    assert "jose.perez" not in text and "vexora-conformance.readthedocs.io" in text')
    result = inner(pytester, statement, marker='@pytest.mark.vexora(base_url="https://pay.example/mx")')
    result.assert_outcomes(passed=1)


def test_markers_merge_the_closest_winning_per_keyword(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CLIENT + '''
pytestmark = pytest.mark.vexora(merchant_no="2000000002", strict_tables=True)

@pytest.mark.vexora(secret="from-test", strict_tables=False)
def test_client(vexora_mock):
    assert vexora_mock.merchant_no == "2000000002"   # from the module
    assert vexora_mock.secret.reveal() == "from-test"  # from the test
    assert vexora_mock.strict_tables is False          # the test's own marker wins
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_public_names_are_importable_for_type_hints() -> None:
    import vexora_conformance as vc
    from vexora_conformance.core.findings import Finding
    from vexora_conformance.doors.fake.provider import Call, FakeProvider

    assert (vc.FakeProvider, vc.Call, vc.Finding) == (FakeProvider, Call, Finding)
    assert issubclass(vc.VexoraContractWarning, UserWarning)
    assert set(vc.__all__) == {"Call", "FakeProvider", "Finding", "Secret", "VexoraContractWarning", "__version__",
                               "ambiguities", "canonical_string", "diagnose", "sign", "verify"}
    for name in vc.__all__:
        assert getattr(vc, name) is not None


COVERAGE_SUITE = CLIENT + '''

def test_success(vexora_mock):
    b = body(email="a@b.example", wayCode="va"); b["sign"] = sign(b); send(b)

def test_system_error(vexora_mock):
    vexora_mock.fail_with_envelope("5000", "system exception")
    b = body(); b["sign"] = sign(b); assert send(b).json()["code"] == "5000"

def test_timeout(vexora_mock):
    vexora_mock.time_out()
    b = body(); b["sign"] = sign(b)
    with pytest.raises(httpx.ReadTimeout):
        send(b)
'''


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_outcome_coverage_lists_what_the_suite_never_exercised(pytester: pytest.Pytester,
                                                               workers: list[str]) -> None:
    pytester.makepyfile(COVERAGE_SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--vexora-coverage", "--vexora-coverage-json",
                                "cov.json", *workers)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*vexora-conformance: outcome coverage*",
                                 "checkout: * outcomes and request fields met:",
                                 "*[[]x[]] success *test_success*",
                                 "*[[]x[]] envelope 5000 *test_system_error*",
                                 "*[[] []] HTTP 5xx *never; to exercise it: vexora_mock.fail_with_http(503)*",
                                 "*[[]x[]] read timeout *test_timeout*",
                                 "*[[]x[]] mexico field email *", "*[[] []] mexico wayCode store *",
                                 "*[[]x[]] mexico wayCode va *"])
    result.stdout.no_fnmatch_line("payout:*")  # an endpoint the suite never used is not counted against it
    report = json.loads((pytester.path / "cov.json").read_text())
    assert report["endpoints"]["checkout"]["read timeout"] == [
        "test_outcome_coverage_lists_what_the_suite_never_exercised.py::test_timeout"]
    assert report["covered"] == 8 and report["total"] == 18  # 10 outcomes, 6 optional fields, 2 wayCodes


def test_outcome_coverage_can_fail_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(COVERAGE_SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--vexora-coverage-fail-under", "90")
    result.assert_outcomes(passed=3)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*vexora outcome coverage 44% is below --vexora-coverage-fail-under 90%*"])
    assert pytester.runpytest("-p", "no:cacheprovider", "--vexora-coverage-fail-under", "30").ret == 0


def test_a_failing_test_shows_no_payer_data_from_the_librarys_frames(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
import httpx
from vexora_conformance import signing

def test_payer(vexora_mock):
    vexora_mock.fail_to_connect()
    email = "jose.perez" + "@example.mx"   # built here, so the test's own source does not hold it
    body = {"timestamp": "1728609257212", "tradeNo": "W1", "amount": "300", "notifyUrl": "https://m.example/n"}
    body["sign"] = signing.sign(body, vexora_mock.secret)
    httpx.post(vexora_mock.base_url + "/v1/vexora/checkout?email=" + email + "&mobile=55" + "12345678",
               json=body, headers={"merchantNo": vexora_mock.merchant_no})
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "ConnectError" in text  # the failure is there, and what the client did
    assert "jose.perez@example.mx" not in text and "5512345678" not in text


def test_the_fakes_json_answer_is_what_httpx_builds_from_content() -> None:
    """provider._json builds its answer from a stream, read at once: the same headers, in the same order and
    case, the same content and the same state as httpx.Response(content=...)."""
    from vexora_conformance.doors.fake.provider import _JSON_HEADERS, _json

    request = httpx.Request("POST", "https://sandbox.vexora.test/mexico/v1/vexora/checkout", content=b"{}")
    for payload in [{"code": "0000", "msg": "success", "data": {"tradeNo": "T1", "amount": "1.00"}},
                    {"code": "8000", "msg": "ñandú 😀", "big": 2**70, "f": 1e16}]:
        ours = _json(request, payload, 201)
        theirs = httpx.Response(201, content=json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
                                .encode(), headers=_JSON_HEADERS, request=request)
        assert ours.headers.raw == theirs.headers.raw
        assert (ours.status_code, ours.content, ours.json()) == (theirs.status_code, theirs.content, theirs.json())
        assert (ours.is_stream_consumed, ours.is_closed, ours.request) == (True, True, request)


@pytest.mark.parametrize("raw", [
    [(b"Content-Type", b"application/json"), (b"merchantNo", b"1"), (b"MerchantNo", b"2")],
    [(b"X-Name", "ñandú".encode()), (b"merchantNo", b"1")],
    [(b"X-Name", "ñandú".encode("latin-1"))],
    [(b"X-\xc3\xb1", b"v"), (b"x-\xc3\xb1", b"w")],
    [],
])
def test_the_fake_reads_headers_as_header_map_of_multi_items(raw: list[tuple[bytes, bytes]]) -> None:
    from vexora_conformance.core.exchange import header_map
    from vexora_conformance.doors.fake.provider import _header_map

    headers = httpx.Headers(raw)
    assert _header_map(headers) == header_map(headers.multi_items())


@pytest.mark.parametrize("payload", [
    {"code": "0000", "msg": "success", "data": {"status": "0015"}},
    {"code": "0000", "msg": "success", "data": {"status": "0000"}},
    {"code": "0000", "msg": "success", "data": {"status": "00029"}},
    {"code": "0000", "msg": "success", "data": {"status": "x" * 40}},
    {"code": "0000", "msg": "success", "data": {"status": 15}},
    {"code": "0000", "msg": "success", "data": None},
    {"code": "8000", "msg": "insufficient balance"},
])
def test_remembered_coverage_of_an_answer_is_what_it_shows(payload: dict[str, Any]) -> None:
    """coverage.answered remembers a "0000" answer's names per endpoint and status: asked twice, it gives what
    the unremembered rule gives."""
    from vexora_conformance.contract.registry import ENDPOINTS
    from vexora_conformance.doors.fake.coverage import _answered, answered

    for name in ("checkout", "payout", "query"):
        endpoint = ENDPOINTS[name]
        assert answered(endpoint, 200, payload) == answered(endpoint, 200, payload) == _answered(endpoint, 200, payload)


@given(st.sampled_from([(e, m) for e in ("checkout", "payout", "query", "balance") for m in ("mexico", "india",
                                                                                          "bangladesh")]),
       st.dictionaries(st.sampled_from(["mobile", "email", "payer", "wayCode", "returnUrl", "remark", "payType",
                                        "bankCode", "x"]),
                       st.none() | st.sampled_from(["", "va", "store", "UPI", "IMPS", "x"]) | st.integers(0, 2),
                       max_size=6))
def test_coverage_names_the_fields_a_body_carried(where: tuple[str, str], body: dict[str, Any]) -> None:
    """coverage.sent against its rule written plainly: a field is carried when present and not empty, a listed
    value when the field has it."""
    from vexora_conformance.contract.registry import ENDPOINTS
    from vexora_conformance.doors.fake.coverage import request_fields, sent

    endpoint = ENDPOINTS[where[0]]
    contract = endpoint.contract(where[1])
    expected = set()
    for name in request_fields(contract):
        kind, _, rest = name.partition(" ")
        if (kind == "field" and body.get(rest) not in (None, "")) or (kind != "field" and body.get(kind) == rest):
            expected.add(f"{endpoint.name}: {contract.variant} {name}")
    assert sent(endpoint, contract, body) == expected
