"""Settings of the RAG inference API and its web UI (``twin api``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from twin_core.config.base import Settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class AuthSettings(Settings):
    """API keys come from the environment variable named here (comma-separated), never from conf/."""

    enabled: bool = True
    keys_env: str = Field(default="TWIN_API_KEYS", min_length=1)
    generate_if_unset: bool = Field(
        default=True, description="No key in the env: `twin api` makes one and prints it once (local use)."
    )


class LimitSettings(Settings):
    """Request limits: bodies and fields beyond these are answered 413."""

    max_body_bytes: int = Field(default=64_000, gt=0)
    max_query_chars: int = Field(default=4_000, gt=0)
    max_messages: int = Field(default=32, gt=0)
    max_k: int = Field(default=20, gt=0)
    max_tokens: int = Field(default=512, gt=0)


class CollectionSettings(Settings):
    """How the sources page triggers collection: Airflow's REST API when configured, in-process otherwise."""

    mode: Literal["auto", "airflow", "in_process"] = "auto"
    airflow_url: str | None = Field(default=None, description="e.g. http://airflow-apiserver:8080; None: in-process.")
    airflow_dag_id: str = "twin_end_to_end"
    airflow_user_env: str = "TWIN_AIRFLOW_USER"
    airflow_password_env: str = "TWIN_AIRFLOW_PASSWORD"
    steps: list[str] = Field(default_factory=lambda: ["etl", "feature"], description="In-process collection steps.")


class ApiSettings(Settings):
    """Where the API listens and how it guards itself."""

    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=0, lt=65536, description="0: a free port.")
    workers: int = Field(default=1, gt=0)
    root_path: str = ""
    cors_origins: list[str] = Field(default_factory=list)
    auth: AuthSettings = AuthSettings()
    limits: LimitSettings = LimitSettings()
    ui: bool = Field(default=True, description="Serve the chat and sources pages at / and /sources.")
    collection: CollectionSettings = CollectionSettings()
    ask_question: str = Field(
        default="What do you think about testing data pipelines?",
        min_length=1,
        description="The question `twin step ask` (and the demo) puts to the twin through the API.",
    )
    ask_timeout_s: float = Field(default=120.0, gt=0)

    @model_validator(mode="after")
    def _no_open_api_without_keys(self) -> ApiSettings:
        if not self.auth.enabled and self.host not in LOOPBACK:
            raise ValueError(
                f"api.auth.enabled=false with api.host={self.host!r} would serve the twin to the network without "
                "keys; keep auth on (keys in $TWIN_API_KEYS) or bind to 127.0.0.1"
            )
        return self
