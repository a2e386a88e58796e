"""LAION-fMRI as a DataLad superdataset: builder, synthetic bucket, loaders and tools."""

__version__ = "0.1.0"
