"""How ``validate`` reads captured traffic and remembers it.

- ``capture``: HAR and JSON-lines records as Exchanges (``harsplit`` cuts a HAR into entries);
- ``fastpath``: a JSON-lines record proven clean, or other traffic, straight on orjson's values;
- ``ledger``: the run's session - keys by position in ``seen.FirstSeen``, wrong signs diagnosed once per
  pattern by ``patterns.DiagnosisMemory``.
"""
