"""Measuring generated datasets: detection baselines on the anomaly labels (more to come)."""
