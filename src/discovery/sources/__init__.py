"""Sources: importers that bring real data into the store.

- :func:`import_csv` — general delimited files (accounts, follows, posts, interactions) with a
  column mapping.
- :func:`import_lastfm` — the HetRec 2011 Last.fm-2k files.
"""

from ._common import ImportSummary
from .csv import CsvImport, import_csv, prepare_csv
from .lastfm import import_lastfm, lastfm_files, read_lastfm
from .mapping import DEFAULT_MAPPING, FIELDS, REQUIRED, load_mapping

__all__ = [
    "DEFAULT_MAPPING",
    "FIELDS",
    "REQUIRED",
    "CsvImport",
    "ImportSummary",
    "import_csv",
    "import_lastfm",
    "lastfm_files",
    "load_mapping",
    "prepare_csv",
    "read_lastfm",
]
