"""Loaders for a clone of the superdataset (betas, trials, ROIs, noise ceilings)."""
