"""Provenance: releases, citations, and reruns of recorded ``datalad run`` commits."""
