"""Limits and vocabularies of artifacts, in one place for validators, models and forms."""

from __future__ import annotations

from django.db import models

NAME_MAX_LENGTH = 5000
DESCRIPTION_MAX_LENGTH = 10_000
TAG_NAME_MAX_LENGTH = 256
TAG_VALUE_MAX_LENGTH = 1024
MAX_TAGS = 50

CONTAINER_NAME_PATTERN = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
ENV_VAR_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
PVC_SIZE_PATTERN = r"^\d+(\.\d+)?(Mi|Gi|Ti)$"
PRIMARY_PORT_MIN = 1024
PORT_MAX = 65535
DEFAULT_GROUP_NAME = "default"
DEFAULT_DOCKERFILE_PATH = "./Dockerfile"


class ArtifactType(models.TextChoices):
    SERVICE = "service", "Service"
    NIM = "nim", "NIM"


class ArtifactStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    LOCKED = "locked", "Locked"


class BuildStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    BUILT = "BUILT", "Built, pushing"
    COMPLETED = "COMPLETED", "Completed"
    FAILED = "FAILED", "Failed"
    CANCELLED = "CANCELLED", "Cancelled"


# A build in one of these states has a worker (or a queued task) responsible for it.
ACTIVE_BUILD_STATUSES = (BuildStatus.PENDING, BuildStatus.IN_PROGRESS, BuildStatus.BUILT)
TERMINAL_BUILD_STATUSES = (BuildStatus.COMPLETED, BuildStatus.FAILED, BuildStatus.CANCELLED)
SOURCE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
