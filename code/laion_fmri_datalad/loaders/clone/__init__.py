"""Finding and getting content in a clone: where the clone is and what it holds (``content``,
``info``, ``listings``), which file holds what (``index``, ``files``, ``selection``,
``filters``), and getting files with DataLad (``fetching``, ``download``)."""
