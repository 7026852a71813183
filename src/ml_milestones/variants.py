"""The variant matrix: every rendered project we test, read by both noxfile.py and tests/.

A variant is a project type plus the answers that differ from copier.yml's defaults. Choice
questions are covered pairwise rather than as a full product: every value of every question
appears in at least one variant, and tests/test_variants.py fails when a question or a choice is
added to copier.yml without a variant that uses it. `full` variants also get the slow check
(real install, lint, typecheck, tests and demo of the rendered project).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Variant:
    """One rendered project: a type, the answers that differ from the defaults, a readable name."""

    project_type: str
    name: str
    answers: dict[str, Any] = field(default_factory=dict)
    full: bool = True

    @property
    def id(self) -> str:
        """Readable test and nox id, for example `tabular-defaults`."""
        return f"{self.project_type}-{self.name}"

    def data(self) -> dict[str, Any]:
        """The answers to hand to Copier, project type included."""
        return {"project_type": self.project_type, **self.answers}


VARIANTS: tuple[Variant, ...] = (
    Variant("tabular", "defaults"),
    Variant(
        "tabular",
        "all-options",
        {
            "project_name": "churn-lab",
            "boosting_models": True,
            "shap_explanations": True,
            "fairness_column": "site",
            "python_version": "3.12",
            "license": "Apache-2.0",
        },
    ),
    Variant(
        "tabular",
        "py313-no-fairness",
        {"python_version": "3.13", "license": "BSD-3-Clause", "fairness_column": ""},
    ),
    # Only the license text and metadata differ from the defaults: rendering checks suffice.
    Variant("tabular", "proprietary", {"license": "proprietary"}, full=False),
    Variant("service", "defaults"),
    # uvloop and httptools on the newest Python: the other way the service's stack installs.
    Variant(
        "service",
        "fast-loop-py313",
        {
            "project_name": "risk-api",
            "fast_event_loop": True,
            "python_version": "3.13",
            "license": "Apache-2.0",
        },
        # Rendering checks only, to keep CI short: the update test already installs and checks
        # a service with fast_event_loop switched on (tests/test_updates.py, OPTION_TO_ENABLE).
        full=False,
    ),
    # CPU torch installs offline here for Python 3.11 only (the local wheel), so the full check
    # (install, tests, demo, CI) runs on 3.11; the other Pythons are rendered, linted and
    # type-checked (tests/test_render.py), and the generated CI tests them on GitHub.
    Variant("deep-learning", "defaults"),
    Variant(
        "deep-learning",
        "resnet-py313",
        {
            "project_name": "digit-net",
            "model": "resnet",
            "torch_build": "cu128",
            "gpu_image": True,
            "python_version": "3.13",
            "license": "BSD-3-Clause",
        },
        full=False,
    ),
    Variant(
        "deep-learning",
        "cu130-py312",
        {"torch_build": "cu130", "python_version": "3.12", "license": "proprietary"},
        full=False,
    ),
    # Hybrid retrieval (BM25 + MiniLM on CPU torch) on Python 3.11, where the local torch wheel
    # installs offline; the lite answer has no torch at all, so it runs in full on 3.13.
    Variant("rag", "defaults"),
    Variant(
        "rag",
        "lite-py313",
        {
            "project_name": "policy-search",
            "retrieval": "lite",
            "python_version": "3.13",
            "license": "Apache-2.0",
        },
    ),
)


def uses_torch(variant: Variant) -> bool:
    """Whether the rendered project depends on torch (and so needs a torch wheel to install)."""
    if variant.project_type == "deep-learning":
        return True
    return variant.project_type == "rag" and variant.answers.get("retrieval", "hybrid") != "lite"


def variant_ids() -> list[str]:
    return [variant.id for variant in VARIANTS]


def get_variant(variant_id: str) -> Variant:
    """The variant with this id; the error lists the valid ids."""
    for variant in VARIANTS:
        if variant.id == variant_id:
            return variant
    raise KeyError(f"unknown variant {variant_id!r}; choose one of: {', '.join(variant_ids())}")
