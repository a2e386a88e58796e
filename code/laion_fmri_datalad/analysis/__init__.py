"""Analyses on the dataset: the reference encoding model (``encoding.py``)."""
