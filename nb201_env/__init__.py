"""nb201_env: the NAS-Bench-201 search space as a fast benchmark store and a Gymnasium environment."""

__version__ = "0.1.0"
