"""Test support shipped with the package: writers of synthetic files in the official NB201 / NATS-Bench layouts
(:mod:`nb201_env.testing.official_files`), for the test suite, the benchmarks and users testing their own tools."""
