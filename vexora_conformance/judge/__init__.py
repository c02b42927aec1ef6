"""The one judge: ``exchange`` turns one exchange into findings, ``session`` adds the rules that need memory
across exchanges; ``ledger`` (with ``seen`` and ``patterns``) is the compact session of a ``validate`` run."""
