"""Settings, read once from the environment (``TRACKER_*``); tests override by constructor."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
SCHEMAS_DIR = ROOT / "schemas"


class Settings(BaseSettings):
    """Where the store is and which reference data seeds it."""

    model_config = SettingsConfigDict(env_prefix="TRACKER_", extra="ignore")

    db: str = Field(
        default=str(DATA_DIR / "tracker.duckdb"),
        description="Path of the DuckDB file, or a postgresql:// URL for the shared PostgreSQL mode (TRACKER_DB).",
    )
    taxonomy: Path = Field(default=DATA_DIR / "taxonomy.toml", description="Taxonomy seed file.")
    partnerships: Path = Field(
        default=DATA_DIR / "partnerships.csv", description="Partnership reference data seed file."
    )
    sample: Path = Field(default=DATA_DIR / "sample" / "entries.csv", description="Demo data set.")
    crosswalk: Path = Field(default=DATA_DIR / "crosswalk.toml", description="Second typology and its crosswalk.")
    import_batch_rows: int = Field(default=20_000, ge=100, description="Rows validated per batch.")
    max_errors: int = Field(default=1000, ge=1, description="Problems listed before the rest are counted.")
    max_upload_mb: int = Field(
        default=50, ge=1, description="Largest file the upload page accepts, in MB (as server.maxUploadSize)."
    )
    max_import_rows: int = Field(default=1_000_000, ge=1, description="Most rows (or records) one import may hold.")
    max_export_rows: int = Field(
        default=100_000,
        ge=1,
        description="Most entries one download from the app may hold: the file is built in the app's memory "
        "(100,000 entries: 2-20 s and ~0.5 GB). Larger exports: `python -m tracker export FILE` or a backup.",
    )
    verify_months: int = Field(
        default=12, ge=1, description="A structure whose status is not confirmed for this long is 'unverified'."
    )

    @field_validator("db")
    @classmethod
    def _db_not_blank(cls, value: str) -> str:
        # DuckDB opens a throwaway in-memory database for "": the app would take entries and keep
        # nothing (TRACKER_DB= left empty in a deployment's environment, #6)
        if not value.strip():
            raise ValueError(
                "it is empty; set it to a DuckDB file (e.g. data/tracker.duckdb) or a postgresql:// URL, "
                "or unset it to use data/tracker.duckdb"
            )
        return value


def settings_problem(exc: BaseException) -> str | None:
    """What is wrong with the ``TRACKER_*`` settings, for a :class:`Settings` error; else None."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError) or exc.title != Settings.__name__:
        return None
    return "; ".join(
        f"TRACKER_{'_'.join(str(part) for part in err['loc']).upper()}: {err['msg'].removeprefix('Value error, ')}"
        for err in exc.errors()
    )
