"""`RemoteMonitor`: post each epoch's logs to a server as JSON."""
import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from fastnn.callbacks.callback import Callback
from fastnn.distributed import is_chief


class RemoteMonitor(Callback):
    """Callback used to stream events to a server.

    At the end of every epoch it sends an HTTP POST to `root + path` holding
    `{"epoch": epoch, **logs}` (0-based epoch, the logs as numbers): as a form
    field `field` whose value is that dict as JSON (`data={...}`), or, with
    `send_as_json=True`, as a JSON body (`Content-Type: application/json`). A
    server that cannot be reached gives a warning, and training goes on. Keras
    sends with the `requests` package; fastnn uses the standard library.

    Args:
        root: String; root url of the target server.
        path: String; path relative to `root` to which the events will be sent.
        field: String; JSON field under which the data will be stored. The
            field is used only if the payload is sent within a form (i.e.
            when `send_as_json=False`).
        headers: Dictionary; optional custom HTTP headers.
        send_as_json: Boolean; whether the request should be sent as
            `"application/json"`.

    Example:

    >>> monitor = RemoteMonitor(root="http://localhost:9000", send_as_json=True)
    >>> monitor.root + monitor.path
    'http://localhost:9000/publish/epoch/end/'
    """

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json

    def on_epoch_end(self, epoch, logs=None):
        if not is_chief():  # data-parallel: one report per epoch, from the chief
            return
        send = {"epoch": epoch}
        for k, v in (logs or {}).items():
            send[k] = v.item() if isinstance(v, (np.ndarray, np.generic)) else v
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode("utf-8")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}",
                          stacklevel=2)
