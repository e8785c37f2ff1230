"""The WSGI application that bench/servers.py serves under gunicorn and waitress."""

from mockgraph import Config, create_app

app = create_app(Config())
