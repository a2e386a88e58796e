"""Reading betas: one sequential pass over a 4D ``.nii.gz`` (``reader``), the voxel-major
cache the first read writes and every later one reads (``cache``), and its administration
(``cacheadmin``: build ahead, sizes, clear)."""
