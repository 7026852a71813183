"""The evaluation gate: score held-out rows and fail when a metric misses its threshold."""

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import ENV_PREFIX, tables
from .config import EvaluateConfig, Settings
from .cross_validation import features_and_target
from .data import apply_rules, load_split, read_csv, validate
from .errors import MissingArtifactError, UserError
from .metrics import METRICS, score
from .model_store import model_version
from .persistence import ModelMetadata, load_metadata, load_model


@dataclass(frozen=True)
class Evaluation:
    """Held-out metrics, and every gate they failed (empty when the model may ship)."""

    metadata: ModelMetadata
    metrics: dict[str, float]
    rows: int
    source: str
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures


def gate(metrics: dict[str, float], config: EvaluateConfig) -> list[str]:
    """One sentence per metric past its threshold, naming the setting that holds it."""
    checks = [
        ("auroc", metrics["auroc"] < config.min_auroc, f"below the minimum {config.min_auroc}"),
        ("f1", metrics["f1"] < config.min_f1, f"below the minimum {config.min_f1}"),
        ("brier", metrics["brier"] > config.max_brier, f"above the maximum {config.max_brier}"),
    ]
    setting = {"auroc": "MIN_AUROC", "f1": "MIN_F1", "brier": "MAX_BRIER"}
    return [
        f"{METRICS[name]} {metrics[name]:.3f} is {why} ({ENV_PREFIX}EVALUATE__{setting[name]})."
        for name, failed, why in checks
        if failed
    ]


def evaluate(settings: Settings, csv: Path | None = None) -> Evaluation:
    """Score the held-out split, or a labelled CSV file, with the saved model."""
    metadata = load_metadata(settings.paths.models_dir)
    model = load_model(settings.paths.models_dir)
    if csv is None:
        frame, source = load_split(settings.paths.data_dir).holdout, "held-out split"
    else:
        # The values training treated as missing are missing here too.
        cleaned, _ = apply_rules(read_csv(csv), metadata.missing_rules)
        frame = validate(cleaned, metadata.target, min_rows=20)
        source = str(csv)
    features, target = features_and_target(frame, metadata.target, metadata.feature_schema)
    probability = model.predict_proba(features)[:, 1]
    metrics = score(target, probability, metadata.threshold)
    return Evaluation(
        metadata=metadata,
        metrics=metrics,
        rows=len(target),
        source=source,
        failures=gate(metrics, settings.evaluate),
    )


def save(evaluation: Evaluation, settings: Settings) -> list[Path]:
    """Write the metrics as JSON and fill in the model card."""
    paths = settings.paths
    paths.reports_dir.mkdir(parents=True, exist_ok=True)
    summary = {
        "source": evaluation.source,
        "rows": evaluation.rows,
        "metrics": evaluation.metrics,
        "thresholds": settings.evaluate.model_dump(),
        "passed": evaluation.passed,
        "failures": evaluation.failures,
    }
    paths.evaluation_json.write_text(json.dumps(summary, indent=2) + "\n")
    verdict = {"model_version": model_version(paths.models_dir)} | summary
    paths.gate_json.write_text(json.dumps(verdict, indent=2) + "\n")
    paths.evaluation_md.write_text(evaluation_markdown(evaluation, settings.evaluate))
    return [
        paths.evaluation_json,
        paths.gate_json,
        paths.evaluation_md,
        write_model_card(evaluation, settings.evaluate, paths.model_card),
    ]


def check_gate(settings: Settings) -> str:
    """The version of the model in models/, if `evaluate` passed it; otherwise say what to run."""
    paths = settings.paths
    if not paths.gate_json.is_file():
        raise MissingArtifactError(
            f"No gate verdict at {paths.gate_json}: run `train`, then `evaluate`."
        )
    verdict = json.loads(paths.gate_json.read_text())
    version = model_version(paths.models_dir)
    if verdict.get("model_version") != version:
        raise UserError(
            f"The model in {paths.models_dir} ({version}) is not the one `evaluate` judged "
            f"({verdict.get('model_version')}): run `evaluate` again."
        )
    if not verdict.get("passed"):
        failures = " ".join(verdict.get("failures", []))
        raise UserError(f"The model in {paths.models_dir} failed the gate: {failures}")
    return version


def metrics_table(evaluation: Evaluation) -> str:
    """Held-out metrics beside the out-of-fold ones the model was chosen by."""
    oof = evaluation.metadata.oof_metrics
    return tables.to_markdown(
        pd.DataFrame(
            {
                "metric": list(METRICS.values()),
                "held-out": [evaluation.metrics[name] for name in METRICS],
                "out-of-fold (training)": [oof[name] for name in METRICS],
            }
        )
    )


def evaluation_markdown(evaluation: Evaluation, config: EvaluateConfig) -> str:
    """The gate's verdict first, then the metrics and the thresholds they were held to."""
    verdict = (
        "**The gate passed: the model may ship.**"
        if evaluation.passed
        else "**The gate failed:** " + " ".join(evaluation.failures)
    )
    meta = evaluation.metadata
    return "\n".join(
        [
            "# Offline evaluation",
            "",
            (
                f"The {meta.model_name.replace('_', ' ')} model for `{meta.target}`, scored on "
                f"{evaluation.rows} rows of the {evaluation.source} before it is served."
            ),
            "",
            verdict,
            "",
            metrics_table(evaluation),
            (
                f"Gate: AUROC ≥ {config.min_auroc}, F1 ≥ {config.min_f1}, Brier ≤ "
                f"{config.max_brier} (settings `{ENV_PREFIX}EVALUATE__*`)."
            ),
            "",
        ]
    )


def write_model_card(evaluation: Evaluation, config: EvaluateConfig, path: Path) -> Path:
    """MODEL_CARD.md from the latest evaluation; the intended-use and owner sections are kept."""
    meta = evaluation.metadata
    kept = ""
    if path.is_file():
        text = path.read_text()
        start = text.find("## Intended use")
        kept = text[start:].split("\n## Model", 1)[0].rstrip() + "\n\n" if start >= 0 else ""
    metrics = metrics_table(evaluation)
    verdict = "passed." if evaluation.passed else "FAILED: " + " ".join(evaluation.failures)
    card = f"""# Model card: {meta.model_name} for `{meta.target}`

> Written by `evaluate` from the latest evaluation; edit the intended-use and owner sections
> freely, they are kept.

{kept}## Model

A scikit-learn pipeline (median/most-frequent imputation, scaling, one-hot encoding, then a
{meta.model_name.replace("_", " ")}), trained on {meta.training_rows} rows of {meta.source}
(SHA-256 `{meta.training_data_sha256[:16]}…`). A record is labelled 1 when its probability reaches
{meta.threshold:.3f}, the threshold with the best out-of-fold F1.

## Evaluation

{evaluation.rows} rows of the {evaluation.source}; the gate {verdict}

{metrics}
Gate: AUROC ≥ {config.min_auroc}, F1 ≥ {config.min_f1}, Brier ≤ {config.max_brier}.

## Limitations

Only as good as its training rows ({meta.source}): it is not validated for any other
population. Drift away from those rows is tracked by the `monitor` command and by the
`feature_drift_psi` gauges in `/metrics`.
"""
    path.write_text(card)
    return path
