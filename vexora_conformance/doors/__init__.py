"""Every way an exchange reaches the judge: captures (``capture``, ``harsplit``, ``fastpath``, ``validate``,
``dask_validate``), the fake provider (``fake``) behind the pytest plugin and ``server``, the notification's
deliverer and battery (``notify``), and ``signer_check``. Kept light: importing it loads nothing."""
