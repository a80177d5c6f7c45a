"""Vocabularies and limits of workloads, in one place for validators, models and services."""

from __future__ import annotations

from datetime import timedelta

from django.db import models

DRAFT_TTL = timedelta(hours=8)
MAX_REPLICAS = 100
NAME_MAX_LENGTH = 5000
MEMORY_PATTERN = r"^\d+(\.\d+)?(Mi|Gi|Ti)$"
CPU_PATTERN = r"^\d+(\.\d+)?m?$"
# Metrics any workload may scale on, and those that only NIM (GPU) workloads have.
SCALING_METRICS = ("cpuAverageUtilization", "httpRequestsConcurrency")
GPU_SCALING_METRICS = ("gpuCacheUtilization", "gpuRequestQueueDepth")
# Keys that would carry environment variables; they belong in the artifact.
ENVIRONMENT_KEYS = ("environmentVars", "environment", "env", "envVars")


class WorkloadStatus(models.TextChoices):
    SUBMITTED = "submitted"
    PROVISIONING = "provisioning"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    ERRORED = "errored"
    TERMINATED = "terminated"


# A workload in one of these states has (or is about to have) containers.
LIVE_STATUSES = (
    WorkloadStatus.SUBMITTED,
    WorkloadStatus.PROVISIONING,
    WorkloadStatus.RUNNING,
    WorkloadStatus.STOPPING,
)


class Importance(models.TextChoices):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    CRITICAL = "critical"


class ProtonRole(models.TextChoices):
    ACTIVE = "active"  # serves traffic
    CANDIDATE = "candidate"  # a replacement starting up
    RETIRED = "retired"  # replaced or stopped; kept for history


class ProtonStatus(models.TextChoices):
    SUBMITTED = "submitted"
    PROVISIONING = "provisioning"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    ERRORED = "errored"


class EventKind(models.TextChoices):
    REPLACEMENT = "replacement"
    RESTART = "restart"
    PROMOTION = "promotion"


class EventStatus(models.TextChoices):
    RUNNING = "running"
    COMPLETED = "completed"
    ERRORED = "errored"
