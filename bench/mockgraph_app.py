"""The WSGI application that bench/servers.py serves under gunicorn and waitress.

With ``MOCKGRAPH_BENCH_STATE`` set to a folder, skills and the journal are kept in
files there, which every worker process opens, as ``mockgraph serve --workers N``
does. Each server under comparison then does the same work per request.
"""

import os

from mockgraph import Config, create_app
from mockgraph.serving import JOURNAL_FOLDER_NAME, STORE_FILE_NAME, build_app

_folder = os.environ.get("MOCKGRAPH_BENCH_STATE")
if _folder:
    _config = Config(store=f"sqlite:///{os.path.join(_folder, STORE_FILE_NAME)}")
    app = build_app(
        _config, os.path.join(_folder, JOURNAL_FOLDER_NAME), scratch_store=True
    )
else:
    app = create_app(Config())
