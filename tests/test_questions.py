"""Every question that can be answered badly is refused with a message naming the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import copier
import pytest

from ml_milestones.paths import TEMPLATE_ROOT


def copy(tmp_path: Path, **answers: Any) -> Path:
    destination = tmp_path / "project"
    copier.run_copy(
        str(TEMPLATE_ROOT),
        str(destination),
        data={"project_type": "tabular", **answers},
        defaults=True,
        unsafe=False,
        vcs_ref="HEAD",
        quiet=True,
    )
    return destination


BAD_ANSWERS = [
    pytest.param({"project_name": "Heart Disease"}, "lowercase letters", id="name-spaces"),
    pytest.param({"project_name": "1st-model"}, "start with a", id="name-digit-first"),
    pytest.param({"project_name": "churn--model"}, "single hyphens", id="name-double-hyphen"),
    pytest.param({"project_name": "a" * 51}, "50 or fewer", id="name-too-long"),
    pytest.param({"package_name": "churn-model"}, "underscores", id="package-hyphen"),
    pytest.param({"package_name": "Churn"}, "lowercase letters", id="package-uppercase"),
    pytest.param({"package_name": "class"}, "Python keyword", id="package-keyword"),
    pytest.param({"package_name": "match"}, "Python keyword", id="package-soft-keyword"),
    pytest.param({"package_name": "json"}, "standard-library module", id="package-stdlib"),
    pytest.param({"package_name": "statistics"}, "standard-library", id="package-stdlib-2"),
    pytest.param({"package_name": "sklearn"}, "library this project depends", id="package-dep"),
    pytest.param({"package_name": "torch"}, "library this project depends", id="package-torch"),
    pytest.param({"package_name": "onnxruntime"}, "library this project", id="package-onnxruntime"),
    pytest.param({"package_name": "bm25s"}, "library this project depends", id="package-bm25s"),
    pytest.param(
        {"package_name": "sentence_transformers"}, "library this project", id="package-st"
    ),
    pytest.param({"description": "   "}, "description is empty", id="description-empty"),
    pytest.param({"description": "one\ntwo"}, "one line", id="description-multiline"),
    pytest.param({"description": "x" * 201}, "200 or fewer", id="description-too-long"),
    pytest.param({"description": 'say "hi"'}, "double quote", id="description-quote"),
    pytest.param({"author_name": ""}, "author name is empty", id="author-empty"),
    pytest.param({"author_name": 'Ada "A" L'}, "quote", id="author-quote"),
    pytest.param({"author_email": "ada.example.com"}, "not an email", id="email-no-at"),
    pytest.param({"author_email": "ada@localhost"}, "name@domain.tld", id="email-no-tld"),
    pytest.param({"copyright_year": "26"}, "four digits", id="year-short"),
    pytest.param({"fairness_column": "age"}, '"sex" or "site"', id="fairness-not-categorical"),
]


@pytest.mark.parametrize(("answers", "fix"), BAD_ANSWERS)
def test_bad_answer_is_refused_with_a_fix(
    tmp_path: Path, answers: dict[str, Any], fix: str
) -> None:
    with pytest.raises(ValueError, match="Validation error") as refused:
        copy(tmp_path, **answers)
    question = next(iter(answers))
    assert f"'{question}'" in str(refused.value)
    assert fix in str(refused.value)
    # Nothing was written: a refused answer leaves no half-rendered project behind.
    assert not (tmp_path / "project" / "pyproject.toml").exists()


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("project_name", "churn-model-2"),
        ("package_name", "churn_model"),
        ("package_name", "json_tools"),  # contains a stdlib name, does not equal it
        ("author_email", "first.last+ml@example.co.uk"),
        ("fairness_column", ""),
    ],
)
def test_good_answer_is_accepted(tmp_path: Path, question: str, value: str) -> None:
    project = copy(tmp_path, **{question: value})
    assert (project / "pyproject.toml").exists()


@pytest.mark.parametrize("choice", ["python_version", "license", "project_type"])
def test_choice_outside_the_list_is_refused(tmp_path: Path, choice: str) -> None:
    with pytest.raises(ValueError, match=f"Invalid choice for '{choice}'") as refused:
        copy(tmp_path, **{choice: "not-a-choice"})
    # Copier's message lists the valid answers, which is the fix.
    assert "is not in [" in str(refused.value)


@pytest.mark.parametrize("choice", ["task", "model", "torch_build"])
def test_deep_learning_choice_outside_the_list_is_refused(tmp_path: Path, choice: str) -> None:
    with pytest.raises(ValueError, match=f"Invalid choice for '{choice}'") as refused:
        copy(tmp_path, project_type="deep-learning", **{choice: "not-a-choice"})
    assert "is not in [" in str(refused.value)


def test_rag_retrieval_outside_the_list_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Invalid choice for 'retrieval'") as refused:
        copy(tmp_path, project_type="rag", retrieval="not-a-choice")
    assert "is not in [" in str(refused.value)


def test_rag_lite_is_not_asked_for_a_torch_build(tmp_path: Path) -> None:
    """torch_build only matters where torch is installed: hybrid retrieval, not lite."""
    project = copy(tmp_path, project_type="rag", retrieval="lite")
    answers = (project / ".copier-answers.yml").read_text()
    assert "retrieval: lite" in answers
    assert "torch_build" not in answers
    assert "project_name: docs-assistant" in answers
    assert "torch" not in (project / "pyproject.toml").read_text().split("[tool.uv]")[0]


def test_package_name_is_derived_from_project_name(tmp_path: Path) -> None:
    project = copy(tmp_path, project_name="credit-risk")
    assert (project / "src" / "credit_risk" / "__init__.py").exists()
