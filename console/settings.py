"""Berth settings.

Everything comes from environment variables with an embedded default that runs on one
machine with nothing else installed: SQLite under ``var/`` and Celery on kombu's
file-system transport. ``DATABASE_URL`` switches to PostgreSQL and ``CELERY_BROKER_URL``
to Redis or RabbitMQ; nothing else has to change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BERTH_VAR_DIR", BASE_DIR / "var")).resolve()
# The embedded default keeps its database, broker queue and logs here; make it on first use.
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str) -> dict[str, Any]:
    """Turn ``postgres://user:pass@host:port/name`` or ``sqlite:///path`` into a DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "postgres",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": int(os.environ.get("BERTH_DB_CONN_MAX_AGE", "60")),
            "CONN_HEALTH_CHECKS": True,
        }
    if parts.scheme == "sqlite":
        return sqlite_database(Path(unquote(parts.path)))
    raise ValueError(f"DATABASE_URL scheme {parts.scheme!r} is not supported")


def sqlite_database(path: Path) -> dict[str, Any]:
    # IMMEDIATE transactions take SQLite's write lock up front, so concurrent writers
    # queue on the busy timeout instead of failing with "database is locked" mid-way.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        # A file, not memory, so a test's threads and live server share one test database;
        # named per process so that test runs side by side do not share it.
        "TEST": {"NAME": str(path.with_name(f"test-{os.getpid()}-{path.name}"))},
    }


# BERTH_PRODUCTION=1: HTTPS-only cookies, HSTS, no debug pages, and a secret that must come
# from the environment (the block "Production mode and security" at the end of this file).
BERTH_PRODUCTION = env_bool("BERTH_PRODUCTION", False)
EMBEDDED_SECRET_KEY = "berth-embedded-default-key-do-not-use-in-production-0123456789"  # noqa: S105
SECRET_KEY = os.environ.get("BERTH_SECRET_KEY", EMBEDDED_SECRET_KEY)
_HOW_TO_MAKE_A_KEY = (
    "set BERTH_SECRET_KEY to a long random secret, e.g. the output of "
    '`python -c "import secrets; print(secrets.token_urlsafe(50))"`.'
)
if BERTH_PRODUCTION and SECRET_KEY in {"", EMBEDDED_SECRET_KEY}:
    # The embedded key is public (it is in this file): anyone could forge sessions with it.
    raise ImproperlyConfigured(
        "BERTH_PRODUCTION is on but BERTH_SECRET_KEY is missing or the embedded development "
        f"key: {_HOW_TO_MAKE_A_KEY}"
    )
# Django's own deployment check (security.W009) only warns about a weak key, and only when
# someone runs `check --deploy`; production refuses to start with one, by the same measure.
if BERTH_PRODUCTION and (
    len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH
    or len(set(SECRET_KEY)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
    or SECRET_KEY.startswith(SECRET_KEY_INSECURE_PREFIX)
):
    # The message never repeats the key: startup errors end up in logs.
    raise ImproperlyConfigured(
        f"BERTH_PRODUCTION is on but BERTH_SECRET_KEY is too weak: use at least "
        f"{SECRET_KEY_MIN_LENGTH} characters and {SECRET_KEY_MIN_UNIQUE_CHARACTERS} different "
        f"ones, not starting with {SECRET_KEY_INSECURE_PREFIX!r}; {_HOW_TO_MAKE_A_KEY}"
    )
# Debug pages show settings, source and local variables to whoever triggers an error, so
# production refuses them outright rather than trusting a forgotten variable.
if BERTH_PRODUCTION and env_bool("BERTH_DEBUG", False):
    raise ImproperlyConfigured(
        "BERTH_PRODUCTION is on but BERTH_DEBUG is on too: debug pages would show settings "
        "and source to anyone; unset BERTH_DEBUG (or set it to 0) in production."
    )
DEBUG = env_bool("BERTH_DEBUG", not BERTH_PRODUCTION)
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("BERTH_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
]

INSTALLED_APPS = [
    # django.contrib.admin, with the console's sign-in throttle (console/admin_site.py).
    "console.admin_site.BerthAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "guardian",
    "console",
    "repositories",
    "artifacts",
    "workloads",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Early, so every response below carries the policy (SECURE_CSP at the end of the file).
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Before anything reads the body or the session: refuses oversized requests (413).
    "console.middleware.RequestLimitsMiddleware",
    "console.audit.RequestIdMiddleware",
    "console.middleware.NulCharacterMiddleware",
    # Above everything that looks at the method, so HEAD is GET to them all.
    "console.middleware.HeadAsGetMiddleware",
    "console.middleware.ApiEdgesMiddleware",
    "console.middleware.ApiTrailingSlashMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": (
        database_from_url(os.environ["DATABASE_URL"])
        if os.environ.get("DATABASE_URL")
        else sqlite_database(VAR_DIR / "berth.sqlite3")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Guardian's anonymous user would make every anonymous request a database lookup; Berth
# shows nothing to anonymous callers, so it is not needed.
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"

# Celery: kombu's file-system transport needs no server and works across processes.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery"
    # kombu's file-system transport does not create its folders.
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("BERTH_LOG_LEVEL", "INFO")},
}

# Image builds: the builder engine, the registry it pushes to, and the limits on uploads.
BERTH_BUILDER = os.environ.get("BERTH_BUILDER", "buildah")  # "buildah" | "buildkit"
BERTH_BUILDKIT_ADDR = os.environ.get("BERTH_BUILDKIT_ADDR", "")
BERTH_BUILDAH_ROOT = Path(os.environ.get("BERTH_BUILDAH_ROOT", VAR_DIR / "buildah"))
BERTH_REGISTRY = os.environ.get("BERTH_REGISTRY", "127.0.0.1:5050")
# Unset: verify TLS for every registry except one on the loopback address.
BERTH_REGISTRY_TLS_VERIFY = (
    env_bool("BERTH_REGISTRY_TLS_VERIFY", True)
    if "BERTH_REGISTRY_TLS_VERIFY" in os.environ
    else None
)
BERTH_REGISTRY_USERNAME = os.environ.get("BERTH_REGISTRY_USERNAME", "")
BERTH_REGISTRY_PASSWORD = os.environ.get("BERTH_REGISTRY_PASSWORD", "")
BERTH_BUILD_TIMEOUT = int(os.environ.get("BERTH_BUILD_TIMEOUT", "1800"))
# A build whose worker has been silent this long is failed by the sweep.
BERTH_BUILD_HEARTBEAT_TIMEOUT = int(os.environ.get("BERTH_BUILD_HEARTBEAT_TIMEOUT", "120"))
# The build sandbox (measured and explained in docs/build-sandbox.md). RUN steps run in a
# network namespace of their own. "none" (the default) gives them nothing but their own
# loopback, so no service of this host or its network is reachable; "egress" would need a
# bridge whose traffic to the host, loopback, link-local and private ranges is dropped,
# which the buildah engine does not set up (it refuses such builds with the reason).
BERTH_BUILD_NETWORK = os.environ.get("BERTH_BUILD_NETWORK", "none")
if BERTH_BUILD_NETWORK not in {"none", "egress"}:
    raise ImproperlyConfigured(
        f"BERTH_BUILD_NETWORK must be 'none' or 'egress', not {BERTH_BUILD_NETWORK!r}."
    )
# Limits on all processes of one build together (the builder and its RUN steps), set with
# a cgroup of the build's own, so that a fork bomb or a runaway RUN step stops at its build.
BERTH_BUILD_PIDS_LIMIT = int(os.environ.get("BERTH_BUILD_PIDS_LIMIT", "1024"))
BERTH_BUILD_MEMORY_LIMIT_MIB = int(os.environ.get("BERTH_BUILD_MEMORY_LIMIT_MIB", "2048"))
# RUN steps run in a user namespace: their uids 0-65535 are host uids from this one on, so
# a RUN step's root is an unprivileged host user (no entry in /etc/subuid is needed).
BERTH_BUILD_HOST_UID_BASE = int(os.environ.get("BERTH_BUILD_HOST_UID_BASE", "100000"))
# Registries on private addresses that builds (FROM, COPY --from) and workloads (imageUri)
# may name anyway (say, a company mirror), as host[:port], comma separated; any other
# registry on a private address is refused (artifacts/image_access.py), since Berth would
# pull from it with the host's network.
BERTH_TRUSTED_PRIVATE_REGISTRIES = [
    host.strip().lower()
    for host in os.environ.get("BERTH_TRUSTED_PRIVATE_REGISTRIES", "").split(",")
    if host.strip()
]
BERTH_SOURCE_MAX_BYTES = int(os.environ.get("BERTH_SOURCE_MAX_BYTES", str(100 * 2**20)))
BERTH_SOURCE_MAX_FILES = int(os.environ.get("BERTH_SOURCE_MAX_FILES", "10000"))
BERTH_SOURCE_MAX_UNPACKED_BYTES = int(
    os.environ.get("BERTH_SOURCE_MAX_UNPACKED_BYTES", str(500 * 2**20))
)
# Uploads larger than this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2**20
DATA_UPLOAD_MAX_MEMORY_SIZE = 2**20

# Uploaded source goes through Django's storage API: the file system by default, an
# S3-compatible store by settings (BERTH_STORAGE_BACKEND="storages.backends.s3.S3Storage"
# with django-storages installed and BERTH_STORAGE_OPTIONS as JSON).
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {
        "BACKEND": os.environ.get(
            "BERTH_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": json.loads(os.environ.get("BERTH_STORAGE_OPTIONS", "{}")),
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

CELERY_BEAT_SCHEDULE = {
    "sweep-stale-builds": {"task": "artifacts.tasks.sweep_stale_builds", "schedule": 60.0},
    "expire-workloads": {"task": "workloads.tasks.expire_workloads", "schedule": 60.0},
    "sweep-orphan-containers": {
        "task": "workloads.tasks.sweep_orphan_containers",
        "schedule": 300.0,
    },
}
# A rolling replacement waits this long after switching traffic before it stops the old
# replicas, so that requests already sent to them can finish.
BERTH_DRAIN_SECONDS = float(os.environ.get("BERTH_DRAIN_SECONDS", "2"))

# Workloads: the runtime engine
BERTH_RUNTIME = os.environ.get("BERTH_RUNTIME", "podman")
# Podman's own state (--root, --runroot, --tmpdir) lives under this folder.
BERTH_PODMAN_ROOT = Path(os.environ.get("BERTH_PODMAN_ROOT", VAR_DIR / "podman"))
# Replicas publish their ports on the loopback interface only; the platform proxies to them.
BERTH_PODMAN_HOST = "127.0.0.1"

# Workload containment (every runtime engine; measured in docs/workload-containment.md).
# CPU (cores) and memory every container gets when the workload's runtime gives none, so
# that no tenant's container runs unlimited; a workload may ask for more, up to the maxima
# (above them its runtime settings are refused with a 422).
BERTH_WORKLOAD_DEFAULT_CPU = float(os.environ.get("BERTH_WORKLOAD_DEFAULT_CPU", "1"))
BERTH_WORKLOAD_DEFAULT_MEMORY = os.environ.get("BERTH_WORKLOAD_DEFAULT_MEMORY", "512Mi")
BERTH_WORKLOAD_MAX_CPU = float(os.environ.get("BERTH_WORKLOAD_MAX_CPU", "8"))
BERTH_WORKLOAD_MAX_MEMORY = os.environ.get("BERTH_WORKLOAD_MAX_MEMORY", "16Gi")
# Processes (threads count) per container: a fork bomb stops at this, not at the host's.
BERTH_WORKLOAD_PIDS_LIMIT = int(os.environ.get("BERTH_WORKLOAD_PIDS_LIMIT", "1024"))
# Images must name a numeric non-root USER. Set "uid" or "uid:gid" (not 0) to run images
# that do not (no USER, root, or a user name) as that user instead of refusing them; empty
# refuses them. The uid is not checked against the image's files: an image that needs root
# to write its own paths fails at run time instead.
BERTH_WORKLOAD_DEFAULT_USER = os.environ.get("BERTH_WORKLOAD_DEFAULT_USER", "")
_uid, _colon, _gid = BERTH_WORKLOAD_DEFAULT_USER.partition(":")
if BERTH_WORKLOAD_DEFAULT_USER and not (
    _uid.isascii()
    and _uid.isdigit()
    and int(_uid) != 0
    and (not _colon or (_gid.isascii() and _gid.isdigit()))
):
    raise ImproperlyConfigured(
        "BERTH_WORKLOAD_DEFAULT_USER must be empty or a numeric non-root uid[:gid], "
        f"such as 65534:65534, not {BERTH_WORKLOAD_DEFAULT_USER!r}."
    )
# Quotas, answered with a 403 that names the setting: containers in one container group of
# an artifact that a workload runs, and live (submitted, provisioning, running, stopping)
# workloads per creating user.
BERTH_MAX_CONTAINERS_PER_GROUP = int(os.environ.get("BERTH_MAX_CONTAINERS_PER_GROUP", "8"))
BERTH_MAX_WORKLOADS_PER_USER = int(os.environ.get("BERTH_MAX_WORKLOADS_PER_USER", "10"))
# Kubernetes: who may open connections to workload pods besides the workload's own pods, as
# a JSON list of NetworkPolicy peers (namespaceSelector/podSelector). Berth's console (the
# invoke proxy) and, with BERTH_K8S_INGRESS_HOST, the ingress controller must be in it.
# Never a bare namespaceSelector for BERTH_K8S_NAMESPACE itself: that would admit every
# other workload's pods; pair it with a podSelector for Berth's own pods instead.
BERTH_K8S_INGRESS_FROM: list[dict[str, Any]] = json.loads(
    os.environ.get(
        "BERTH_K8S_INGRESS_FROM",
        '[{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "berth-system"}}}]',
    )
)

# Kubernetes runtime (BERTH_RUNTIME=kubernetes)
# One namespace per Berth installation: the orphan sweep stops every Berth-labelled
# Deployment in it that this installation's database does not know.
BERTH_K8S_NAMESPACE = os.environ.get("BERTH_K8S_NAMESPACE", "berth")
# Empty: Berth runs in the cluster and uses its pod's service account.
BERTH_K8S_KUBECONFIG = os.environ.get("BERTH_K8S_KUBECONFIG", "")
# Set when Berth runs outside the cluster: each proton gets an Ingress at
# <name>.<this host>, and the platform reaches replicas through it instead of pod addresses.
# That Ingress answers without Berth's authentication: serve this host on an internal network.
BERTH_K8S_INGRESS_HOST = os.environ.get("BERTH_K8S_INGRESS_HOST", "")

# The invoke proxy (workloads/proxy/)
# Every answer it relays carries a sandbox Content-Security-Policy (no allow-same-origin)
# and loses Set-Cookie, CSP, CORS and other origin-wide headers, so a workload's page never
# acts as the console although it is served on the console's host. A host of its own for
# invoke traffic would add a second wall; Berth has no setting for that yet.
# Connect, request body, response headers and body of one request must all end within this
# many seconds: 504 if the workload has not answered by then, otherwise its answer is cut
# off. Keep it below the web server's own worker timeout (gunicorn --timeout, 30 s by
# default), or the server kills the worker first and nothing is counted.
BERTH_INVOKE_DEADLINE_SECONDS = float(os.environ.get("BERTH_INVOKE_DEADLINE_SECONDS", "25"))
# Requests in flight per workload beyond this are answered 429 with Retry-After. Counted in
# CACHES: per web process on the embedded default, across processes with BERTH_CACHE_URL.
BERTH_INVOKE_MAX_CONCURRENT = int(os.environ.get("BERTH_INVOKE_MAX_CONCURRENT", "16"))

# Benchmarks (tests/perf, `make bench`): routes /bench/ceiling, a trivial JSON view that
# measures what the server and middleware cost alone. Off everywhere else.
BERTH_BENCH_CEILING = env_bool("BERTH_BENCH_CEILING", False)


# Production mode and security
# BERTH_PRODUCTION and the checks on SECRET_KEY and DEBUG are at the top of this file.
# `manage.py check --deploy` reports no issue in production mode (tests/console/
# test_security_settings.py). Headers that cost nothing over plain HTTP are on in every mode.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Origins (scheme://host[:port]) whose unsafe requests pass the CSRF check; needed when the
# browser's origin differs from the host Django sees (for example behind a TLS proxy).
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("BERTH_CSRF_TRUSTED_ORIGINS", "").split(",")
    if origin.strip()
]
# Only behind a proxy that sets (overwrites) X-Forwarded-Proto itself: otherwise a client
# could claim HTTPS on a plain connection.
if env_bool("BERTH_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Only behind a proxy that appends the client's address to X-Forwarded-For: the throttles
# (console/throttle.py) then count by that address instead of the proxy's own, which would
# put every client in one bucket.
BERTH_TRUST_X_FORWARDED_FOR = env_bool("BERTH_TRUST_X_FORWARDED_FOR", False)
if BERTH_PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    # One year, subdomains and the preload list: the browser never tries plain HTTP again.
    # Submitting the host to the preload list is a separate, deliberate step.
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content-Security-Policy, in every mode so that a violation shows up during development:
# the console loads only its own scripts, styles and images and runs no inline code
# (static/js/app.js wires everything). The API docs (django-ninja's Swagger UI, from static
# files) satisfy it too, so no route relaxes it; tests/e2e/test_csp.py checks both.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# Requests whose Content-Length exceeds this are refused with 413 before their body is read
# (console.middleware.RequestLimitsMiddleware): the largest legitimate body is a source
# upload, plus room for the multipart envelope and the other fields.
BERTH_MAX_REQUEST_BYTES = int(
    os.environ.get("BERTH_MAX_REQUEST_BYTES", str(BERTH_SOURCE_MAX_BYTES + 2**20))
)


def cache_from_url(url: str) -> dict[str, Any]:
    """``redis://host:port/db`` (or ``rediss://``) as a CACHES entry; empty: this process's
    memory."""
    if not url:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if urlsplit(url).scheme in {"redis", "rediss"}:
        # Django's own backend; it needs the `redis` package (see docs/deployment.md).
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    raise ImproperlyConfigured(f"BERTH_CACHE_URL must be redis:// or rediss://, not {url!r}")


# The throttles (console/throttle.py) count failures in the cache. The default lives in each
# process's memory, so every web process counts on its own: production with several
# processes sets BERTH_CACHE_URL to a shared Redis.
CACHES = {"default": cache_from_url(os.environ.get("BERTH_CACHE_URL", ""))}
