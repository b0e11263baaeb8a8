"""The search benchmark harness: agents x protocols x budgets x runs, resumable, with reports."""
