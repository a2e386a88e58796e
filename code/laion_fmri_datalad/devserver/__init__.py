"""The development server: a synthetic bucket, a local S3 server holding it, a local access
service for the gated files, and the README's demo. Installed with the ``[demo]`` extra;
nothing in the product imports it."""
