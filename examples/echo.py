"""A request reflector: answers every request with JSON describing it.

python examples/echo.py            # or: ketch ketch.apps.echo:app
curl -s localhost:8080/any/path?x=1 -d 'hello'
"""

import os

from ketch import web
from ketch.apps.echo import app

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8080")))
