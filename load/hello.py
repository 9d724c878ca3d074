"""A Flask hello-world under the production gunicorn settings, to measure Locust itself.

It answers ``POST /api/v1/verify`` with a small JSON document and no work at all
(``--target hello``), so the rate Locust reaches against it, and the CPU Locust
spends doing so, say how much load one Locust process can make here (docs/load.md).
"""

from flask import Flask, jsonify

app = Flask(__name__)


@app.post("/api/v1/verify")
def hello():
    return jsonify(verdict="hello", scan_count=1)
