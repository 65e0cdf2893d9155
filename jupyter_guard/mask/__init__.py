"""Sensitive-value masking: detectors, strategies, settings and pandas rendering (no IPython)."""
