"""The suite's fixtures live in the plugin ``tests/laion_fmri_fixtures.py``; helpers tests share are
the product's own (``laion_fmri_datalad.repo.git.git``)."""

pytest_plugins = ["laion_fmri_fixtures"]  # not "fixtures": pytest registers its own under that name
