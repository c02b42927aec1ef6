"""The fake provider: ``provider`` (its ``handle``), ``orders`` (its books), ``coverage`` (what a suite met)."""
