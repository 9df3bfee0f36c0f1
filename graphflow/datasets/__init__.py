"""Data sets: `graphflow.datasets.mnist`."""
