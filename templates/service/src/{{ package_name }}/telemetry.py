"""Prometheus metrics: requests and latency by route and status, predictions, quality, drift."""

import numpy as np
import pandas as pd
from prometheus_client import Counter, Gauge, Histogram

from .http_metrics import HttpMetrics

PROBABILITY_BUCKETS = tuple(round(0.1 * step, 1) for step in range(1, 11))


class Telemetry(HttpMetrics):
    """The service's metrics: the shared request metrics, and the predictions and their inputs."""

    def __init__(self) -> None:
        super().__init__()
        registry = self.registry
        self.predictions = Counter(
            "predictions", "Predictions returned, by label.", ["label"], registry=registry
        )
        self.probability = Histogram(
            "prediction_probability",
            "Distribution of the predicted probabilities.",
            buckets=PROBABILITY_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "prediction_batch_size",
            "Records per predict request.",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
            registry=registry,
        )
        self.missing = Counter(
            "input_missing_values",
            "Null feature values received, by feature (the model imputes them).",
            ["feature"],
            registry=registry,
        )
        self.out_of_range = Counter(
            "input_out_of_range_values",
            "Numeric values outside the range seen in training, by feature.",
            ["feature"],
            registry=registry,
        )
        self.drift_psi = Gauge(
            "feature_drift_psi",
            "Population stability index of recent inputs against the training rows, by feature.",
            ["feature"],
            registry=registry,
            multiprocess_mode="livemostrecent",
        )
        self.missing_rate = Gauge(
            "feature_missing_rate",
            "Share of recent inputs with the feature missing.",
            ["feature"],
            registry=registry,
            multiprocess_mode="livemostrecent",
        )
        self.model_ready = Gauge(
            "model_ready",
            "1 once the model is loaded and warmed up.",
            registry=registry,
            multiprocess_mode="livemin",
        )

    def observe_predictions(self, probability: np.ndarray, labels: np.ndarray) -> None:
        self.batch_size.observe(len(probability))
        for value in probability:
            self.probability.observe(float(value))
        positives = int(labels.sum())
        self.predictions.labels("1").inc(positives)
        self.predictions.labels("0").inc(len(labels) - positives)

    def observe_quality(
        self,
        features: pd.DataFrame,
        missing: dict[str, int],
        ranges: dict[str, tuple[float, float]],
    ) -> None:
        """Count missing values and numbers outside the training range in one request's rows."""
        for name, count in missing.items():
            if count:
                self.missing.labels(name).inc(count)
        for name, (low, high) in ranges.items():
            values = features[name].to_numpy()
            # NaN compares false both ways, so missing values are not counted twice.
            outside = int(np.count_nonzero((values < low) | (values > high)))
            if outside:
                self.out_of_range.labels(name).inc(outside)

    def set_drift(self, psi: dict[str, float], missing_rate: dict[str, float]) -> None:
        for name, value in psi.items():
            self.drift_psi.labels(name).set(value)
        for name, value in missing_rate.items():
            self.missing_rate.labels(name).set(value)
