"""Sweeps over algorithms x datasets x seeds (local processes or Ray), their results and reports."""
