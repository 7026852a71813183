"""What one app instance serves: its settings, the model once loaded, and its live counters."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from . import drift, model_store, schemas
from .config import ServiceSettings, load_settings
from .features import FeatureSchema, align
from .prediction_log import PredictionLog
from .telemetry import Telemetry

logger = logging.getLogger(__name__)

WARM_UP_CALLS = 3


@dataclass
class ServiceState:
    """Read by every route; the lifespan fills in the model, and says why when it cannot."""

    settings: ServiceSettings
    folder: Path
    target: str
    feature_schema: FeatureSchema
    api: schemas.ApiSchemas
    git_commit: str | None
    prediction_log: PredictionLog
    telemetry: Telemetry = field(default_factory=Telemetry)
    ready: bool = False
    problem: str = "the model is still loading"
    bundle: model_store.ModelBundle | None = None
    window: drift.DriftWindow | None = None
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def for_settings(cls, settings: ServiceSettings) -> "ServiceState":
        """Find the model and read its schema; the model itself (the slow part) loads later."""
        folder = model_store.resolve(settings.model_source, settings.tracking_uri)
        metadata = model_store.read_metadata(folder)
        git_commit = settings.git_commit
        if git_commit is None:
            from .tracking import git_commit as read_git_commit

            git_commit = read_git_commit(settings.project_root)
        return cls(
            settings=settings,
            folder=folder,
            target=metadata.target,
            feature_schema=metadata.feature_schema,
            api=schemas.build(metadata.feature_schema, metadata.target, settings.max_batch_size),
            git_commit=git_commit,
            prediction_log=PredictionLog(
                settings.prediction_log, settings.prediction_log_sample_rate
            ),
        )

    def load(self) -> None:
        """Load and warm up the model, and profile its training rows for the drift gauges."""
        bundle = model_store.load_bundle(self.folder, self.settings.model_source)
        example, _ = align(bundle.reference.head(1), self.feature_schema)
        # A few calls now, so that the first request is not the slow one.
        for _ in range(WARM_UP_CALLS):
            bundle.model.predict_proba(example)
        bins = load_settings(self.settings.project_root).monitor.bins
        profiles = drift.profile(bundle.reference, self.feature_schema, bins)
        self.window = drift.DriftWindow(
            profiles, self.settings.drift_window, rules=bundle.metadata.missing_rules
        )
        self.ranges = {
            name: (float(bundle.reference[name].min()), float(bundle.reference[name].max()))
            for name in self.feature_schema.numeric
            if bundle.reference[name].notna().any()
        }
        self.bundle = bundle
