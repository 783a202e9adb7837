"""RemoteMonitor (a local HTTP server receives each epoch's logs) and the Keras aliases
fastnn.keras adds for existing objects (keras.initializers.lecun_normal, keras.metrics.huber)."""
import http.server
import json
import threading
import urllib.parse

import numpy as np
import pytest

import fastnn.keras as keras
from fastnn.callbacks import RemoteMonitor


@pytest.fixture
def server():
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"],
                             self.headers.get("X-Run"), body.decode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    httpd.shutdown()
    httpd.server_close()


def _fit(callback, epochs=2):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    x = np.ones((8, 3), np.float32)
    return model.fit(x, np.zeros((8, 1), np.float32), epochs=epochs, verbose=0,
                     callbacks=[callback])


def test_remote_monitor_posts_a_form_per_epoch(server):
    root, received = server
    history = _fit(RemoteMonitor(root=root, path="/log/", headers={"X-Run": "7"}))
    assert [r[0] for r in received] == ["/log/", "/log/"]
    assert received[0][1] == "application/x-www-form-urlencoded" and received[0][2] == "7"
    sent = [json.loads(urllib.parse.parse_qs(r[3])["data"][0]) for r in received]
    assert [s["epoch"] for s in sent] == [0, 1]
    assert sent[1]["loss"] == history.history["loss"][1]
    assert sent[1]["mae"] == history.history["mae"][1]


def test_remote_monitor_as_json_and_custom_field(server):
    root, received = server
    _fit(RemoteMonitor(root=root, send_as_json=True), epochs=1)
    assert received[0][0] == "/publish/epoch/end/" and received[0][1] == "application/json"
    assert set(json.loads(received[0][3])) == {"epoch", "loss", "mae"}
    received.clear()
    _fit(RemoteMonitor(root=root, field="payload"), epochs=1)
    assert "payload" in urllib.parse.parse_qs(received[0][3])


def test_remote_monitor_unreachable_server_warns_and_training_goes_on():
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server at "
                                         "http://127.0.0.1:9"):
        history = _fit(RemoteMonitor(root="http://127.0.0.1:9"), epochs=1)
    assert len(history.history["loss"]) == 1


def test_keras_alias_names():
    from fastnn import initializers, losses
    assert keras.initializers.lecun_normal is initializers.LecunNormal
    assert keras.initializers.IdentityInitializer is keras.initializers.identity is \
        initializers.Identity
    assert keras.initializers.orthogonal is keras.initializers.OrthogonalInitializer
    assert keras.initializers.constant(2.0)((2,)).tolist() == [2.0, 2.0]
    assert keras.metrics.huber is losses.huber
    assert keras.metrics.binary_focal_crossentropy is losses.binary_focal_crossentropy
    with pytest.raises(AttributeError):
        keras.metrics.lecun_normal  # not a Keras name there


def test_interactive_logging_switch(capsys, caplog):
    import logging
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)], name="logged")
    model.compile("sgd", "mse")
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 1), np.float32)
    assert keras.config.is_interactive_logging_enabled()
    keras.utils.disable_interactive_logging()
    try:
        assert not keras.utils.is_interactive_logging_enabled()
        with caplog.at_level(logging.INFO, logger="fastnn"):
            model.fit(x, y, epochs=2, batch_size=4)
            model.summary()
    finally:
        keras.config.enable_interactive_logging()
    assert capsys.readouterr().out == ""
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "Epoch 1/2" and messages[1].startswith("2/2 ━")
    assert messages[-1].startswith('Model: "logged"\n┏')
    model.fit(x, y, epochs=1, batch_size=4)
    assert capsys.readouterr().out.startswith("2/2 ━")
