"""Builders of the bundled proxy table and its recipe study, with their data files and result caches."""
