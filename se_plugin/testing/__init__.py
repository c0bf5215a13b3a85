"""Small datasets in the official on-disk formats, for the tests and the
demo (pattern: ``mmdet/testing``)."""
