"""Adding an endpoint is its two files: a toy endpoint dropped into a copy of the package is judged by every door.

The copy gets ``toy.md`` (its table) and ``toy.py`` (its module) under ``contract/endpoints/``, nothing else;
its schemas are regenerated; then validate, the plugin's fake, serve and Dask each judge a toy request by the
toy's own rules, and the generated rule reference lists them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TOY_MD = """# Toy: the documented tables

## endpoint
| Key | Value |
| name | toy |
| title | Toy ping |
| path | /v1/vexora/toyPing |
| from | merchant |

## shared

### about
| Key | Value |
| page | [page: toy/ping] |
| stored | whole |

### header
| Header | Required | Type | Description |
| merchantNo | Yes | String | The merchant number |

### body
| Parameter Name | Required | Type | Description |
| sign | Yes | String | The MD5 rule |
| timestamp | Yes | String | Milliseconds |
| ping | Yes | String | a or b |

### response
| Parameter Name | Required | Type | Description |
| msg | Yes | String | Result |
| code | Yes | String | Code |
| timestamp | Yes | String | Time |
| success | Yes | String | Result |
| data | Yes | Object | Data |
| data.pong | Yes | String | The ping, back |

### refinements
| Field | Constraint | Value | Source |
| body.sign | pattern | "^[0-9a-f]{32}$" | an MD5 digest |
| body.timestamp | pattern | "^[0-9]{13}$" | milliseconds |
| body.ping | enum | ["a", "b"] | "a or b" |
| response.data | nullable-unless-success | "0000" | an error carries no data |

### conflicts
| Field | Table | Example | Example value |
| response.timestamp | String | integer | 1 |
| response.success | String | boolean | true |
"""

TOY_PY = '''"""A toy endpoint: ping, pong."""

from __future__ import annotations

from typing import Any

from ..endpoint import Asked, Endpoint, spec_beside, success


def answer(asked: Asked) -> dict[str, Any]:
    return success({"pong": asked.body["ping"]})


ENDPOINT = Endpoint(name="toy", order=80, rule_prefix="toy.", noun="ping", spec=spec_beside(__file__), fake=answer,
                    coverage={"success": "a ping"})
'''

PROBE = r'''
import json, sys, threading, time
import httpx
from vexora_conformance.contract import signing
from vexora_conformance.contract.reference import rules_markdown
from vexora_conformance.doors.fake.mock import fake_provider
from vexora_conformance.doors.fake.provider import FakeProvider
from vexora_conformance.doors.server import VexoraServer
from vexora_conformance.doors.validate import validate
from vexora_conformance.doors.dask_validate import validate_on_dask
from vexora_conformance.judge.exchange import JudgeOptions

SECRET, M = "toy-secret", "1000000001"
URL = "https://h.example/mexico/v1/vexora/toyPing"
def body(ping):
    b = {"timestamp": str(int(time.time() * 1000)), "ping": ping}
    return {**b, "sign": signing.sign(b, SECRET)}

out = {}
with fake_provider(secret=SECRET, merchant_no=M, check=False) as fake:
    good = httpx.post(URL, json=body("a"), headers={"merchantNo": M}).json()
    bad = httpx.post(URL, json=body("c"), headers={"merchantNo": M}).json()
out["plugin"] = [good["data"], bad["code"], [f.rule for f in fake.findings]]

srv = VexoraServer(("127.0.0.1", 0), FakeProvider(signing.Secret(SECRET), M, source="serve"))
threading.Thread(target=srv.serve_forever, daemon=True).start()
r = httpx.post(srv.base_url + "/mexico/v1/vexora/toyPing", json=body("c"), headers={"merchantNo": M})
out["serve"] = [r.json()["code"], [f["rule"] for f in httpx.get(srv.base_url + "/__vexora__/findings").json()["findings"]]]
srv.shutdown()

lines = []
for ping in ("a", "c"):
    lines.append(json.dumps({"request": {"method": "POST", "url": URL, "headers": {"Content-Type": "application/json",
                 "merchantNo": M}, "body": json.dumps(body(ping))},
                 "response": {"status": 200, "headers": {}, "body": json.dumps(good)}, "time": time.time()}))
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
options = JudgeOptions(secret=signing.Secret(SECRET), merchant_no=M)
local = validate([sys.argv[1]], options)
out["validate"] = [local.summary()["by_endpoint"], [(f.index, f.rule) for f in local.findings]]
dask = validate_on_dask([sys.argv[1]], options)
out["dask"] = [(f.index, f.rule) for f in dask.findings]
out["reference"] = "| `toy.request.enum` | error |" in rules_markdown()
print(json.dumps(out))
'''


def test_a_toy_endpoint_is_its_two_files_and_every_door_judges_it(tmp_path: Path) -> None:
    copy = tmp_path / "pkg"
    shutil.copytree(ROOT / "vexora_conformance", copy / "vexora_conformance",
                    ignore=shutil.ignore_patterns("__pycache__"))
    endpoints = copy / "vexora_conformance" / "contract" / "endpoints"
    (endpoints / "toy.md").write_text(TOY_MD)
    (endpoints / "toy.py").write_text(TOY_PY)
    env = {"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"}
    generated = subprocess.run([sys.executable, "-m", "vexora_conformance", "schemas", "--dir", str(copy / "schemas")],
                               env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert generated.returncode == 0, generated.stderr
    assert (copy / "schemas" / "shared" / "toy-request-body.schema.json").is_file()
    capture = tmp_path / "toy.jsonl"
    run = subprocess.run([sys.executable, "-c", PROBE, str(capture)], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["plugin"] == [{"pong": "a"}, "8000", ["toy.request.enum"]]
    assert out["serve"] == ["8000", ["toy.request.enum"]]
    by_endpoint, findings = out["validate"]
    assert by_endpoint == {"toy": {"exchanges": 2, "errors": 1, "warnings": 0}}
    assert findings == [[1, "toy.request.enum"]] and out["dask"] == findings
    assert out["reference"] is True
    # Nothing outside its two files names it.
    named = [p for p in (copy / "vexora_conformance").rglob("*.py") if "toyPing" in p.read_text() or
             "toy." in p.read_text()]
    assert named == [endpoints / "toy.py"]
