"""What the project measures and how: ``harness/`` runs search experiments and reports them, ``perf/`` times
and checks the library against baselines, ``probes/`` attacks it with crafted inputs, ``builds/`` builds the
bundled proxy table. Every script runs as ``python -m benchmarks.<group>.<name>``."""
