"""Monitoring: reference profiles, drift, data quality and performance over time (Qt-free)."""
