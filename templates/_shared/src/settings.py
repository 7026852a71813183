"""The settings base: the project folder, the paths under it, `.env`, and one-line errors."""

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from . import ENV_PREFIX, PROJECT_NAME
from .errors import InvalidSettingError

# Names the project folder explicitly; otherwise it is found from the working directory up.
PROJECT_ROOT_ENV = f"{ENV_PREFIX}PROJECT_ROOT"


def is_project_root(folder: Path) -> bool:
    """Whether `folder` holds the pyproject.toml of this project (not of any other)."""
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        project = tomllib.loads(pyproject.read_text()).get("project", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False
    return bool(project.get("name") == PROJECT_NAME)


def find_project_root(start: Path | None = None) -> Path:
    """The project folder: $<PREFIX>PROJECT_ROOT, else the nearest folder up with our pyproject.

    An installed copy run outside any checkout (in a container, say) uses the working directory.
    """
    explicit = os.environ.get(PROJECT_ROOT_ENV)
    if explicit:
        root = Path(explicit).expanduser()
        if not root.is_dir():
            raise InvalidSettingError(
                f"{PROJECT_ROOT_ENV}={explicit}: must be an existing folder, the project's."
            )
        return root.resolve()
    here = (start or Path.cwd()).resolve()
    return next((folder for folder in (here, *here.parents) if is_project_root(folder)), here)


@dataclass(frozen=True)
class ProjectPaths:
    """Where every stage reads and writes, all under the project folder."""

    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def model_card(self) -> Path:
        return self.root / "MODEL_CARD.md"

    @property
    def env_file(self) -> Path:
        return self.root / ".env"

    @property
    def mlflow_store(self) -> Path:
        """The SQLite file MLflow runs go to when MLFLOW_TRACKING_URI is not set."""
        return self.root / "mlflow.db"


class SettingsGroup(BaseModel):
    """One section of the settings, such as `train`."""

    # A typo in a setting name is an error, not a silently ignored value.
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnRule(BaseModel):
    """Values of one column that cannot be real measurements, and so mean "missing"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Codes written for "not measured", such as 0 or -999.
    missing: tuple[float, ...] = ()
    # Values outside [min, max] are physically impossible.
    min: float | None = None
    max: float | None = None

    def describe(self) -> str:
        parts = [f"= {value:g}" for value in self.missing]
        if self.min is not None:
            parts.append(f"< {self.min:g}")
        if self.max is not None:
            parts.append(f"> {self.max:g}")
        return " or ".join(parts)


class ProjectSettings(BaseSettings):
    """Settings read from $<PREFIX><FIELD> or $<PREFIX><SECTION>__<FIELD>, or the same in `.env`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        frozen=True,
        # `.env` also holds other tools' variables (PORT, compose's ports): unknown top-level
        # names are left to them, while every section forbids names it does not know.
        extra="ignore",
    )

    project_root: Path
    # MLflow's own variable, unprefixed; unset, runs go to a SQLite file in the project folder.
    mlflow_tracking_uri: str | None = Field(default=None, validation_alias="MLFLOW_TRACKING_URI")

    @property
    def paths(self) -> ProjectPaths:
        return ProjectPaths(self.project_root)

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.paths.mlflow_store}"

    @classmethod
    def read(cls, root: Path | None = None) -> Self:
        """Settings from the environment and the project's `.env`; a bad value is a clear error."""
        root = root or find_project_root()
        # `_env_file` is pydantic-settings' own argument, which type checkers cannot see.
        arguments: dict[str, Any] = {"_env_file": root / ".env", "project_root": root}
        try:
            return cls(**arguments)
        except ValidationError as error:
            prefix = str(cls.model_config.get("env_prefix", ""))
            lines = [describe(problem, prefix) for problem in error.errors()]
            raise InvalidSettingError("\n".join(lines)) from None
        except SettingsError as error:
            raise InvalidSettingError(
                f"{error} ({error.__cause__}): write a list as JSON, "
                'for example ["first", "second"].'
            ) from None


def describe(problem: ErrorDetails, prefix: str) -> str:
    """`<VARIABLE>=<value>: <what is allowed>` for one validation error."""
    names = [str(part) for part in problem["loc"] if isinstance(part, str)]
    # An aliased field such as MLFLOW_TRACKING_URI is named without the prefix.
    variable = "__".join(names).upper()
    if names and not names[0].isupper():
        variable = f"{prefix.upper()}{variable}"
    return f"{variable}={problem['input']}: {allowed(problem)}"


def allowed(problem: ErrorDetails) -> str:
    """What a setting may be, in the words of its constraint."""
    context: dict[str, Any] = dict(problem.get("ctx") or {})
    bounds = {
        "greater_than_equal": (">=", "ge"),
        "greater_than": (">", "gt"),
        "less_than_equal": ("<=", "le"),
        "less_than": ("<", "lt"),
    }
    kind = problem["type"]
    if kind in bounds:
        sign, key = bounds[kind]
        return f"must be {sign} {context[key]}"
    messages = {
        "literal_error": f"must be one of {context.get('expected')}",
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_parsing": "must be a number",
        "bool_parsing": "must be true or false",
        "extra_forbidden": "is not a setting: check its spelling against config.py",
    }
    return messages.get(kind, str(problem["msg"]))
