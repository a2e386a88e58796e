"""The public API, with the upstream ``laion_fmri`` package's names: ``Subject`` (``subject``;
its anatomy, ROI and trial accessors in ``anatomy``, ``roidata`` and ``trialstimuli``),
``Group`` (``group``), ``Stimuli`` (``stimuli``, with ``captions`` and ``segmentations``),
the localizers, and the discovery and download functions (``discovery``). Import them from
``laion_fmri_datalad.loaders``."""
