"""What every layer shares and nothing above it: exchanges in, findings out, the tally of a run, tool errors.

``exchange`` (Request, Response, Exchange), ``findings`` (Finding, Severity, Kind), ``outcome`` (Outcome, the
report model of a run, and Sink, where a report is written as it goes), ``records`` (what readers and workers
hand the session), ``errors`` (a usage or input problem: exit 2), ``jsontext`` (untrusted JSON, safely).
It imports nothing else of the package.
"""
