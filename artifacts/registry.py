"""The OCI registry builds push to: the local one by default, any registry by settings."""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import json
import re
import secrets
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


# bcrypt's cost: the password is 32 random bytes, not something a person chose, so a high
# cost adds nothing against guessing while the registry pays it on every request (a push
# makes dozens): cost 5 takes about 8 ms a request here, the default 10 about 90 ms.
HTPASSWD_BCRYPT_COST = 5


def new_registry_password() -> str:
    return secrets.token_urlsafe(32)


def htpasswd_entry(username: str, password: str) -> str:
    """One ``user:bcrypt-hash`` line for docker-registry's htpasswd file.

    Hashed with the C library's ``crypt`` (libxcrypt on Debian): Python 3.13 no longer has
    a ``crypt`` module, and no other bcrypt implementation is a dependency of Berth.
    """
    if ":" in username or "\n" in username + password:
        raise ValueError("A registry user name has no ':' and neither value a newline.")
    library = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    library.crypt_gensalt.restype = ctypes.c_char_p
    library.crypt_gensalt.argtypes = [
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
        ctypes.c_int,
    ]
    library.crypt.restype = ctypes.c_char_p
    library.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = library.crypt_gensalt(b"$2b$", HTPASSWD_BCRYPT_COST, None, 0)
    hashed = library.crypt(password.encode(), salt) if salt else None
    if not hashed or not hashed.startswith(b"$2b$"):
        raise RuntimeError("The C library's crypt() cannot make bcrypt hashes here.")
    return f"{username}:{hashed.decode()}"


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
