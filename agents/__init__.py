"""Search agents for nb201_env: one readable file per agent, each driving the public environment API."""
