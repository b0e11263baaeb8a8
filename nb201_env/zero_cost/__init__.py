"""Training-free NAS: zero-cost proxies that score an architecture from one minibatch at initialisation."""
