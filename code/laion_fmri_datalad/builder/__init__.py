"""The builder: list the bucket, route keys, make annex keys, register in bulk, commit."""
