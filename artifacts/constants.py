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
