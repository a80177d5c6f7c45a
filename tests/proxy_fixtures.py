"""A hostile and quirky upstream for the invoke proxy's tests, as a real image.

busybox ``httpd`` decodes the request target and writes its own status line and headers,
so it cannot show what bytes a container received nor misbehave on purpose. The upstream
here is ``busybox nc -ll -e``: one shell process per connection that reads the raw request
from the socket and writes the raw answer, so a test can see the exact request line and
headers the proxy sent and get back repeated, hop-by-hop, trickling or malformed answers.

Import the fixtures into a test module (``from tests.proxy_fixtures import upstream_image``);
they build on the registry and builder fixtures of ``tests.build_fixtures``.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest

from artifacts.builders import configured_builder
from artifacts.builders.base import BuildJob
from artifacts.registry import configured_registry
from console import devserver

# The live server is Django's test server: give it the raw request target, as gunicorn has.
devserver.install()

UPSTREAM_PORT = 8080
BIG_BYTES = 20 * 2**20
# What /download sends: `yes berth | head -c BIG_BYTES`, so the test knows its digest.
BIG_BODY_SHA256 = hashlib.sha256((b"berth\n" * (BIG_BYTES // 6 + 1))[:BIG_BYTES]).hexdigest()
# A page that tries what a hostile workload would on the console's origin, and writes what it
# got into the DOM for the browser test to read. ``?repository=<id>&grantee=<username>``.
HOSTILE_PAGE = """<!doctype html>
<html><head><title>hostile</title></head>
<body><h1>hostile workload</h1><ul id="results"></ul>
<script>
const out = (key, value) => {
  const item = document.createElement("li");
  item.id = key;
  item.textContent = value;
  document.getElementById("results").append(item);
};
const query = new URLSearchParams(location.search);
let csrf = "";
try {
  const cookies = document.cookie;
  out("cookie", "read:" + cookies);
  csrf = (cookies.match(/csrftoken=([^;]+)/) || ["", ""])[1];
} catch (error) {
  out("cookie", "blocked:" + error.name);
}
fetch("/api/v2/artifactRepositories", {credentials: "include"})
  .then(async (r) => out("read", "status:" + r.status + ":" + (await r.text()).slice(0, 300)))
  .catch((error) => out("read", "blocked:" + error.name));
fetch("/api/v2/artifactRepositories/" + query.get("repository") + "/sharedRoles", {
  method: "PATCH",
  credentials: "include",
  headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
  body: JSON.stringify({operation: "updateRoles", roles: [
    {shareRecipientType: "user", username: query.get("grantee"), role: "OWNER"}]}),
})
  .then((r) => out("write", "status:" + r.status))
  .catch((error) => out("write", "blocked:" + error.name));
</script></body></html>
"""

# One connection, one request: the shell reads the request line and headers byte by byte
# (ash's `read` never reads past the newline on a socket), so the body is still unread on
# stdin for `head -c`. The answer always closes the connection.
SERVE_SCRIPT = r"""#!/bin/sh
# No globbing: the request target is split into words below and may hold `*` or `?`.
set -f
CR=$(printf '\r')
read -r line
line=${line%"$CR"}
length=0
headers=""
while read -r header; do
  header=${header%"$CR"}
  [ -z "$header" ] && break
  case "$header" in
    [Cc]ontent-[Ll]ength:*) length=${header#*:}; length=${length# } ;;
  esac
  headers="$headers$header
"
done
set -- $line
target=$2

answer() {  # status, content type, extra header lines, body
  printf 'HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %s\r\nConnection: close\r\n%s\r\n%s' \
    "$1" "$2" "${#4}" "$3" "$4"
}

case "$target" in
  /ready)
    answer "200 OK" text/plain "" "ok
" ;;
  /page*)
    answer "200 OK" "text/html; charset=utf-8" "Set-Cookie: berth_pwned=1; Path=/
Set-Cookie: berth_second=2; Path=/; SameSite=None
Content-Security-Policy: default-src * 'unsafe-inline' 'unsafe-eval'
Access-Control-Allow-Origin: *
Access-Control-Allow-Credentials: true
" "$(cat /app/page.html)" ;;
  /upload*)
    digest=$(head -c "$length" | sha256sum)
    answer "200 OK" text/plain "" "sha256=${digest%% *}
" ;;
  /download*)
    printf 'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n'
    printf 'Content-Length: %s\r\nConnection: close\r\n\r\n' "$BIG_BYTES"
    yes berth | head -c "$BIG_BYTES" ;;
  /slow*)
    sleep 3
    answer "200 OK" text/plain "" "slow
" ;;
  /trickle-headers*)
    printf 'HTTP/1.1 200 OK\r\n'
    i=0
    while [ $i -lt 120 ]; do printf 'X'; sleep 1; i=$((i + 1)); done ;;
  /trickle-body*)
    printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 120\r\n\r\n'
    i=0
    while [ $i -lt 120 ]; do printf 'x'; sleep 1; i=$((i + 1)); done ;;
  /malformed-status*)
    printf 'NOT-HTTP garbage\r\n\r\nhello' ;;
  /conflicting-length*)
    printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello' ;;
  /bad-header-line*)
    printf 'HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 5\r\n\r\nhello' ;;
  /bad-header-name*)
    printf 'HTTP/1.1 200 OK\r\nBad(Name): x\r\nContent-Length: 5\r\n\r\nhello' ;;
  /cut-short*)
    printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n'
    printf 'only the start' ;;
  *)
    # Echo: the request line and headers exactly as received, and headers a proxy must
    # repeat (X-Thing, Link), drop (hop-by-hop, Connection-listed) or replace.
    answer "200 OK" text/plain "X-Thing: one
X-Thing: two
Link: </a>; rel=preload
Link: </b>; rel=preload
Keep-Alive: timeout=5
X-Hop-Secret: upstream-only
Connection: close, X-Hop-Secret
Strict-Transport-Security: max-age=0
Clear-Site-Data: \"*\"
Refresh: 0; url=https://example.invalid/
" "line=$line
$headers" ;;
esac
"""

UPSTREAM_DOCKERFILE = f"""FROM {{base}}
COPY app/ /app/
ENV BIG_BYTES={BIG_BYTES}
USER 1000:1000
EXPOSE {UPSTREAM_PORT}
ENTRYPOINT ["/bin/busybox", "nc", "-ll", "-p", "{UPSTREAM_PORT}", "-e", "/app/serve.sh"]
"""


def build_upstream_image(base: str) -> str:
    """Build the upstream on ``base`` through the project's builder, push it, and return it
    pinned by digest."""
    image = f"{configured_registry().address}/berth/base/test-proxy-upstream:1"
    with tempfile.TemporaryDirectory(prefix="berth-proxy-upstream-") as scratch:
        context = Path(scratch) / "context"
        (context / "app").mkdir(parents=True)
        script = context / "app" / "serve.sh"
        script.write_text(SERVE_SCRIPT)
        # COPY keeps the mode: the unprivileged user must be able to execute the script.
        script.chmod(0o755)
        (context / "app" / "page.html").write_text(HOSTILE_PAGE)
        (context / "Dockerfile").write_text(UPSTREAM_DOCKERFILE.format(base=base))
        work = Path(scratch) / "work"
        work.mkdir()
        job = BuildJob("test-proxy-upstream", context, context / "Dockerfile", image, work)
        builder = configured_builder()
        builder.build(job, lambda _line: None, lambda: False)
        return builder.push(job, lambda _line: None, lambda: False)


@pytest.fixture(scope="session")
def upstream_image(build_settings: str) -> str:
    return build_upstream_image(build_settings)
