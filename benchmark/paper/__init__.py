"""Paper-scale support shared by every family: fixture files in the datasets' real formats."""
