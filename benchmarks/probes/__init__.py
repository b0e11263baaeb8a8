"""Attack probes: crafted files, store edits and bad arguments, each run through the public interfaces."""
