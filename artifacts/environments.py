"""Execution environments: the base images generated Dockerfiles build on.

Operators manage them (the admin, ``manage.py environment``); everyone signed in can
read them to fill in ``executionEnvironmentId`` / ``executionEnvironmentVersionId``.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from artifacts.models import ExecutionEnvironment, ExecutionEnvironmentVersion
from console import audit
from console.errors import Conflict, Invalid, NotFound


def environment_add(*, name: str, description: str = "") -> ExecutionEnvironment:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise Invalid.at("name", msg="Use 1 to 200 characters.")
    try:
        with transaction.atomic():
            environment = ExecutionEnvironment.objects.create(name=name, description=description)
            audit.record(actor=None, kind="operator", action="environment.create", obj=environment)
            return environment
    except IntegrityError:
        raise Conflict(
            f"An environment named {name!r} exists.", code="environment_exists"
        ) from None


def environment_version_add(
    *, environment: str, label: str, base_image: str
) -> ExecutionEnvironmentVersion:
    """Add a base image; ``environment`` is a name or an id."""
    found = ExecutionEnvironment.objects.filter(name=environment).first() or (
        ExecutionEnvironment.objects.filter(pk=environment).first()
    )
    if found is None:
        raise NotFound(f"No execution environment {environment!r}.")
    if not label.strip() or not base_image.strip() or any(c.isspace() for c in base_image):
        raise Invalid.at("baseImage", msg="Give a label and an image reference without spaces.")
    try:
        with transaction.atomic():
            version = ExecutionEnvironmentVersion.objects.create(
                environment=found, label=label.strip(), base_image=base_image.strip()
            )
            audit.record(
                actor=None,
                kind="operator",
                action="environment.add_version",
                obj=version,
                guard=found,
                name=f"{found.name} {version.label}",
                changes={"baseImage": [None, version.base_image]},
            )
            return version
    except IntegrityError:
        raise Conflict(
            f"{found.name} already has a version {label!r}.", code="environment_version_exists"
        ) from None
