"""The superdataset's layout, in one place: subdataset names and paths (``names``), subject,
session and run ids (``ids``), BIDS entities read from a path (``entities``), finding the
clone and its subjects (``discovery``), and whether its URLs point at the development server
(``endpoint``). Import from the module that owns a name; nothing here runs at import."""
