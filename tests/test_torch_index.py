"""How deep-learning projects get torch: the CPU build by default, any build by configuration.

The projects pin torch (Linux, Windows) to an index named `pytorch`, PyTorch's CPU index; an
index of the same name in `UV_INDEX` replaces it without editing the project. Offline here, that
index is a simple index of the local wheel folder (torch_index.py).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ml_milestones import torch_index
from ml_milestones.locks import locked_packages, uv_lock
from ml_milestones.render import render
from ml_milestones.tools import clean_env
from ml_milestones.variants import get_variant

WHEEL = "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"


def test_the_project_takes_torch_from_the_cpu_index_on_linux_and_windows(tmp_path: Path) -> None:
    project = render(get_variant("deep-learning-defaults"), tmp_path / "p")
    uv = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["uv"]
    assert uv["index"] == [
        {"name": "pytorch", "url": "https://download.pytorch.org/whl/cpu", "explicit": True}
    ]
    assert uv["sources"]["torch"] == [{"index": "pytorch", "marker": "sys_platform != 'darwin'"}]
    # The version is recorded like any other package's, without the build tag.
    assert "torch==2.13.0" in uv["constraint-dependencies"]
    readme = (project / "README.md").read_text()
    assert "`uvx copier update --defaults --data torch_build=cu130`, then `uv lock`" in readme
    assert "`UV_INDEX=pytorch=URL uv lock`" in readme


@pytest.mark.parametrize("build", ["cu128", "cu130"])
def test_a_cuda_build_is_chosen_by_answer(build: str, tmp_path: Path) -> None:
    variant = get_variant("deep-learning-defaults")
    project = render(
        type(variant)(variant.project_type, build, {"torch_build": build}), tmp_path / "p"
    )
    uv = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["uv"]
    assert uv["index"][0]["url"] == f"https://download.pytorch.org/whl/{build}"
    assert uv["index"][0]["explicit"] is True


@pytest.fixture
def pip_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip's configuration is this one file, empty until a test writes it."""
    config = tmp_path / "pip.conf"
    config.write_text("")
    monkeypatch.setattr(torch_index, "_pip_config_files", lambda _environ: [config])
    return config


def test_wheel_folders_come_from_uv_then_pip(tmp_path: Path, pip_config: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    both = {"UV_FIND_LINKS": f"{tmp_path / 'a'},https://example.com/x", "PIP_FIND_LINKS": "b"}
    assert torch_index.wheel_folders(both) == [tmp_path / "a"]
    pip_only = {"PIP_FIND_LINKS": f"file://{tmp_path / 'b'} {tmp_path / 'missing'}"}
    assert torch_index.wheel_folders(pip_only) == [tmp_path / "b"]
    assert torch_index.wheel_folders({}) == []
    pip_config.write_text(f"[global]\nfind-links = {tmp_path / 'b'}\n")
    assert torch_index.wheel_folders({}) == [tmp_path / "b"]


def test_the_local_index_lists_the_torch_wheels(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / WHEEL).touch()
    (wheels / "torchvision-0.28.0-py3-none-any.whl").touch()
    url = torch_index.local_index_url({"UV_FIND_LINKS": str(wheels)})
    assert url is not None and url.startswith("file:///")
    page = (Path(url.removeprefix("file://")) / "torch" / "index.html").read_text()
    assert "torch-2.13.0%2Bcpu-cp311" in page  # the `+` of the local tag, URL-quoted
    assert "torchvision" not in page
    assert torch_index.wheel_pythons({"UV_FIND_LINKS": str(wheels)}) == {"3.11"}


@pytest.mark.usefixtures("pip_config")
def test_a_chosen_pytorch_index_is_left_alone(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / WHEEL).touch()
    chosen = {"UV_FIND_LINKS": str(wheels), "UV_INDEX": "pytorch=https://example.com/cu128"}
    assert torch_index.with_local_torch(chosen) == chosen
    other = {"UV_FIND_LINKS": str(wheels), "UV_INDEX": "mirror=https://example.com/simple"}
    env = torch_index.with_local_torch(other)
    assert env["UV_INDEX"].startswith("pytorch=file:///")
    assert env["UV_INDEX"].endswith(" mirror=https://example.com/simple")
    assert torch_index.uses_local_torch(env["UV_INDEX"])
    assert torch_index.with_local_torch({}) == {}


@pytest.mark.skipif(
    not torch_index.uses_local_torch(clean_env().get("UV_INDEX", "")),
    reason="no local torch wheel configured (UV_FIND_LINKS or PIP_FIND_LINKS): offline check only",
)
def test_offline_the_lock_takes_the_local_cpu_build_and_no_cuda(tmp_path: Path) -> None:
    """The default resolves to the local CPU build and pulls no NVIDIA package anywhere.

    (An index given in the environment is not `explicit`, so offline the local index serves the
    macOS entry too; against PyTorch's index, macOS gets PyPI's build of the same version.)
    """
    project = render(get_variant("deep-learning-defaults"), tmp_path / "p")
    uv_lock(project, "2026-11-27T00:00:00Z")
    packages = locked_packages(project)
    torch = [p for p in packages if p["name"] == "torch"]
    assert [p["version"] for p in torch] == ["2.13.0+cpu"]
    assert torch[0]["source"]["registry"].startswith(("file:", "/"))
    cuda = [p["name"] for p in packages if p["name"].startswith(("nvidia-", "cuda-", "triton"))]
    assert not cuda, f"the CPU default pulls CUDA packages: {cuda}"
