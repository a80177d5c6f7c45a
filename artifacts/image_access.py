"""May this actor pull this image reference? One rule for builds and for workloads.

Berth's registry holds every tenant's images under ``<registry>/berth/<repository id>/``;
whoever can name one of them to a builder or a runtime running on Berth's side gets its
content. So a reference into Berth's registry is allowed only for the base images Berth
offers and for repositories the actor can read. References to any other registry that
lives on the host itself, on loopback, link-local or private addresses, are refused: those
are the host's (or its network's) services, not public registries, and the builder or
runtime would fetch them with the host's network.

The registry's host is matched by every spelling that reaches it: the configured name,
``localhost``, any ``127.x.y.z`` (also shortened and numeric forms such as ``127.1`` and
``2130706433``), ``[::1]``, ``0.0.0.0`` and host names that resolve to such addresses.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings

from console.errors import Forbidden, Invalid
from console.permissions import Actor, visible

# The grammar of distribution/reference (docker/distribution ``reference/regexp.go``),
# which buildah, podman and Kubernetes all parse references with. Anything else (a
# transport prefix such as ``oci-archive:/path`` or ``containers-storage:``, a local image
# id) is not a registry reference and is refused.
_HOST_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_HOST_LABEL}(?:\.{_HOST_LABEL})*|\[[0-9a-fA-F:.%a-zA-Z]+\])(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
DEFAULT_DOMAIN = "docker.io"
Resolver = Callable[[str], Iterable[str]]


@dataclass(frozen=True)
class ImageReference:
    """A parsed registry reference: ``domain/path[:tag][@digest]``."""

    domain: str  # as written, lower-cased; DEFAULT_DOMAIN when none was written
    path: str
    tag: str
    digest: str

    @property
    def host(self) -> str:
        """The host part of ``domain`` without port or IPv6 brackets."""
        return split_host_port(self.domain)[0]

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"


def parse_reference(reference: str) -> ImageReference:
    """Parse ``reference`` the way distribution/reference does; Invalid when it is not one."""
    text = reference.strip().removeprefix("docker://")
    match = _REFERENCE.fullmatch(text) if len(text) <= 1024 else None
    if match is None:
        raise Invalid.at(
            "image",
            msg=f"{reference!r} is not an image reference of the form registry/name:tag.",
            type="invalid_reference",
        )
    domain, path = match["domain"], match["path"]
    # distribution's rule: the first component names a registry only when it has a dot, a
    # colon or an upper-case letter, or is ``localhost``; otherwise it is Docker Hub's.
    if domain is not None and not (
        "." in domain or ":" in domain or domain == "localhost" or domain != domain.lower()
    ):
        path, domain = f"{domain}/{path}", None
    if domain is None and "/" not in path:
        path = f"library/{path}"
    if re.fullmatch(rf"{_COMPONENT}(?:/{_COMPONENT})*", path) is None:
        raise Invalid.at(
            "image",
            msg=f"{reference!r} is not an image reference of the form registry/name:tag.",
            type="invalid_reference",
        )
    return ImageReference(
        domain=(domain or DEFAULT_DOMAIN).lower(),
        path=path,
        tag=match["tag"] or "",
        digest=match["digest"] or "",
    )


def split_host_port(domain: str) -> tuple[str, str]:
    """``("127.0.0.1", "5050")`` for ``127.0.0.1:5050``; brackets dropped from IPv6 hosts."""
    if domain.startswith("["):
        host, _, rest = domain[1:].partition("]")
        return host.lower(), rest.removeprefix(":")
    host, _, port = domain.partition(":")
    return host.lower().rstrip("."), port


def host_addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses ``host`` denotes without asking DNS: literals, including the forms
    ``inet_aton`` accepts (``127.1``, ``0x7f.1``, ``2130706433``) that resolvers honour."""
    host = host.split("%")[0]  # an IPv6 zone (fe80::1%eth0) does not change the address
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        mapped = getattr(address, "ipv4_mapped", None)
        return [mapped] if mapped is not None else [address]
    if re.fullmatch(r"[0-9a-fA-Fx.]+", host) and re.search(r"[0-9]", host):
        try:
            return [ipaddress.IPv4Address(socket.inet_aton(host))]
        except OSError:
            return []
    return []


def _system_resolver(host: str) -> list[str]:
    try:
        return [str(info[4][0]) for info in socket.getaddrinfo(host, None)]
    except (OSError, UnicodeError):
        return []


def is_host_local(host: str, resolve: Resolver = _system_resolver) -> bool:
    """True for hosts that are this machine or its private network: loopback, link-local,
    unspecified (``0.0.0.0`` reaches loopback), private and shared ranges, ``localhost``."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    addresses = host_addresses(host)
    if not addresses:
        for text in resolve(host):
            addresses += host_addresses(text)
    return any(_is_local_address(address) for address in addresses)


def _is_local_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return bool(
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_private
        or address.is_reserved
        or address in ipaddress.ip_network("100.64.0.0/10")
    )


def _default_port(port: str) -> str:
    return port or "443"


def _is_loopback_name(host: str, resolve: Resolver) -> bool:
    """``localhost``, loopback and unspecified addresses, or a name resolving to them."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    addresses = host_addresses(host) or [
        address for text in resolve(host) for address in host_addresses(text)
    ]
    return any(a.is_loopback or a.is_unspecified for a in addresses)


def _berth_address() -> tuple[str, str, str]:
    """Berth's registry as (host, port, path prefix) from ``BERTH_REGISTRY``."""
    domain, _, prefix = settings.BERTH_REGISTRY.rstrip("/").partition("/")
    host, port = split_host_port(domain.lower())
    return host, port, f"{prefix}/" if prefix else ""


def is_berth_registry(reference: ImageReference, resolve: Resolver = _system_resolver) -> bool:
    """Does ``reference`` point into Berth's own registry, under any of its host's names?"""
    berth_host, berth_port, _ = _berth_address()
    host, port = split_host_port(reference.domain)
    if _default_port(port) != _default_port(berth_port):
        return False
    if host == berth_host:
        return True
    # A registry on this machine's loopback answers to every loopback name of its port.
    return _is_loopback_name(berth_host, resolve) and _is_loopback_name(host, resolve)


def _looks_like_local_id(reference: str) -> bool:
    """``7e3cc62`` or ``sha256:7e3c…``: builders look these up as ids of images already in
    their store, which may be another tenant's; they are never registry references."""
    return re.fullmatch(r"(?:sha256:)?[0-9a-f]{1,64}", reference.strip()) is not None


def require_pullable(*, actor: Actor, reference: str, resolve: Resolver = _system_resolver) -> None:
    """Raise unless ``actor`` may have Berth pull ``reference`` on its behalf.

    Invalid for text that is not a registry reference; Forbidden for a reference into
    Berth's registry that is neither a base image it offers nor in a repository ``actor``
    can read, and for any registry on this host or a private network. ``resolve`` turns a
    host name into addresses (the system resolver unless a test passes another).
    """
    if _looks_like_local_id(reference):
        raise Invalid.at(
            "image",
            msg=f"{reference!r} looks like the id of a local image; name images by "
            "registry reference (registry/name:tag or name@sha256:…).",
            type="invalid_reference",
        )
    parsed = parse_reference(reference)
    if is_berth_registry(parsed, resolve):
        _require_readable_on_berth(actor, reference, parsed)
        return
    if parsed.domain in settings.BERTH_TRUSTED_PRIVATE_REGISTRIES:
        return
    if is_host_local(parsed.host, resolve):
        raise Forbidden(
            f"{reference} names a registry on this host or a private network "
            f"({parsed.domain}); use a public registry or an image of Berth's."
        )


def _require_readable_on_berth(actor: Actor, reference: str, parsed: ImageReference) -> None:
    from artifacts.models import ExecutionEnvironmentVersion
    from repositories.models import ArtifactRepository

    _, _, prefix = _berth_address()
    path = parsed.path.removeprefix(prefix) if parsed.path.startswith(prefix) else ""
    parts = path.split("/")
    # ``berth/base/`` holds the base images Berth builds itself (artifacts.base_image);
    # repositories' images are ``berth/<repository id>/<container>`` (Registry.image).
    if path.startswith("berth/base/"):
        return
    offered = ExecutionEnvironmentVersion.objects.values_list("base_image", flat=True)
    if parsed.path in _offered_paths(offered):
        return
    if len(parts) >= 3 and parts[0] == "berth":
        repositories = ArtifactRepository.objects.filter(pk=parts[1])
        if visible(actor, repositories).exists():
            return
        raise Forbidden(
            f"{reference} is an image of a repository you cannot read (or that does not "
            "exist); ask its owner to share the repository with you."
        )
    raise Forbidden(
        f"{reference} is in Berth's registry but is neither a base image Berth offers nor "
        "an image of a repository you can read."
    )


def _offered_paths(base_images: Iterable[str]) -> set[str]:
    """Paths in Berth's registry of the offered base images (execution environments)."""
    paths = set()
    for text in base_images:
        try:
            parsed = parse_reference(text)
        except Invalid:
            continue
        if is_berth_registry(parsed):
            paths.add(parsed.path)
    return paths
