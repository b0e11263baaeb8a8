"""The Gymnasium environments: ``base`` (what they share), ``sequential`` (``NASBench201-v0``), ``oneshot``
(``NASBench201-OneShot-v0``), ``vector`` (their native vector versions) and ``multi_objective``
(``NASBench201-MO-v0`` and its one-shot form). All account through :mod:`nb201_env.search_runs`."""
