"""The project's local AWS: moto server plus Directory Service snapshots and a test control plane."""
