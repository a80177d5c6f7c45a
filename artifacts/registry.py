"""The OCI registry builds push to: the local one by default, any registry by settings."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class Registry:
    address: str  # host[:port][/prefix]
    tls_verify: bool
    username: str = ""
    password: str = ""

    def image(self, repository_id: str, container_name: str, tag: str) -> str:
        return f"{self.address}/berth/{repository_id}/{container_name}:{tag}"

    def write_auth_file(self, directory: Path) -> Path | None:
        """Credentials in a private file, never on a command line (where ``ps`` shows them)."""
        if not self.username:
            return None
        host = self.address.split("/")[0]
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        path = directory / "config.json"
        path.write_text(json.dumps({"auths": {host: {"auth": token}}}))
        path.chmod(0o600)
        return path


def configured_registry() -> Registry:
    address = settings.BERTH_REGISTRY.rstrip("/")
    local = re.match(r"^(127\.|localhost[:/]|localhost$|\[::1\])", address) is not None
    tls_verify = settings.BERTH_REGISTRY_TLS_VERIFY
    return Registry(
        address=address,
        tls_verify=(not local) if tls_verify is None else tls_verify,
        username=settings.BERTH_REGISTRY_USERNAME,
        password=settings.BERTH_REGISTRY_PASSWORD,
    )
