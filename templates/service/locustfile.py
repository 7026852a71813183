"""Locust load test for the running service: `uvx locust -H http://127.0.0.1:8000`.

`bench` (built in, no locust needed) measures the same route against a bare baseline; use locust
for longer runs, ramp-up profiles or its web UI.
"""

from typing import Any

from locust import HttpUser, between, task


class ApiUser(HttpUser):
    """Fetches the example request once, then predicts with it; checks the model now and then."""

    wait_time = between(0.0, 0.05)
    body: dict[str, Any]

    def on_start(self) -> None:
        self.body = self.client.get("/v1/model").json()["example_request"]

    @task(10)
    def predict(self) -> None:
        self.client.post("/v1/predict", json=self.body)

    @task(1)
    def model(self) -> None:
        self.client.get("/v1/model")
