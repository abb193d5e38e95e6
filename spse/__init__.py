"""spse: environmental-health exposure monitoring pipeline."""
