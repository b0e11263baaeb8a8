"""The search benchmark harness: agents x protocols x budgets x runs, resumable, with reports.

One-way layers, each importing only those below it:

* records: ``results`` (the JSONL file, grouping and naming of records), ``registry`` (the agents),
  ``stats`` (bootstrap, tests, ranks);
* one run: ``tasks`` (a run through the environment, and its record), ``simulation`` (a run on N
  asynchronous workers);
* ``sweep``: every pending run in a process pool, each record appended as it finishes;
* reports: ``summary`` (tables), ``plots``, ``mo_report`` (hypervolume), ``report`` (all of them into a folder);
* command lines: ``run`` (sweeps), ``cluster`` (sweeps on simulated workers), ``report``.
"""
