"""Service settings: one ``BaseSettings`` read from the environment (``RINGSCOPE_*``)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.store.store import DEFAULT_URL


class Role(StrEnum):
    """What an API key may see."""

    investigator = "investigator"  # everything
    enforcement = "enforcement"  # verdicts only: no member lists, evidence or graphs


class Settings(BaseSettings):
    """Where the verdict store lives and who may read it.

    Attributes:
        store_url: SQLAlchemy URL of the verdict store (``RINGSCOPE_STORE``); a SQLite file by default.
        api_keys: ``key:role,key:role`` (``RINGSCOPE_API_KEYS``); roles are ``investigator`` and
            ``enforcement``. Empty means no key is accepted: every ``/v1`` request answers 401.
    """

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    store_url: str = Field(DEFAULT_URL, validation_alias=AliasChoices("RINGSCOPE_STORE", "store_url"))
    api_keys: str = Field("", validation_alias=AliasChoices("RINGSCOPE_API_KEYS", "api_keys"))

    def key_roles(self) -> dict[str, Role]:
        """Parses ``api_keys`` into ``{key: role}``.

        Raises:
            ValueError: an entry is not ``key:role`` or names an unknown role.
        """
        return parse_api_keys(self.api_keys)


def parse_api_keys(text: str | None) -> dict[str, Role]:
    """``"k1:investigator, k2:enforcement"`` -> ``{"k1": Role.investigator, "k2": Role.enforcement}``."""
    roles: dict[str, Role] = {}
    entries = [e.strip() for e in (text or "").split(",")]
    entries = [e for e in entries if e]
    allowed = ", ".join(r.value for r in Role)
    for i, entry in enumerate(entries, 1):
        # Messages never echo the entry: it holds a secret.
        where = f"RINGSCOPE_API_KEYS entry {i} of {len(entries)}"
        key, sep, role = entry.rpartition(":")
        key, role = key.strip(), role.strip()
        if not sep or not key:
            raise ValueError(f"{where}: expected 'key:role' with role {allowed} (the entry is not shown)")
        try:
            roles[key] = Role(role)
        except ValueError:
            shown = repr(role) if len(role) <= 20 and role.isidentifier() else "(not shown)"
            raise ValueError(f"{where}: unknown role {shown}; use {allowed}") from None
    return roles
