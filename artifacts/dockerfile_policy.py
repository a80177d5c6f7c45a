"""Which Dockerfiles Berth builds: the instructions that would leave the build sandbox.

Pure functions over the Dockerfile's text; nothing here runs a process or reads a file.
The parser follows the one buildah 1.28 uses (moby's, through openshift/imagebuilder):
parser directives at the top (``# escape=`` changes the line-continuation character),
comment lines dropped even inside continuations, ``ARG`` defaults before the first
``FROM`` (usable in ``FROM``) and inside stages, ``ENV``, and ``$VAR`` / ``${VAR}`` /
``${VAR:-x}`` / ``${VAR:+x}`` substitution in the places the builder substitutes. Where
this parser and the builder could disagree, it refuses rather than guesses: an
unsupported substitution, an unknown flag or an unknown instruction is a violation.

What is refused, and why (see docs/build-sandbox.md):

- ``RUN`` flags other than ``--mount`` (``--network``, ``--security``): they would take a
  step out of its network namespace or add privileges.
- ``--mount`` of anything but ``cache``, ``tmpfs`` and ``secret``, except a ``bind`` from a
  stage or an image; ``source=`` without ``from=``: host or context paths.
- ``ADD`` of URLs and git sources: the builder fetches them itself, from the host's network.
- Image references are returned (``images``) for the caller to vet with
  ``artifacts.image_access.require_pullable``; stage names are not references.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
# Flags each instruction may carry; anything else is refused rather than interpreted.
ALLOWED_FLAGS: Mapping[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "COPY": frozenset({"from", "chown", "chmod", "link"}),
    "ADD": frozenset({"from", "chown", "chmod", "link"}),
    "RUN": frozenset({"mount"}),
    "HEALTHCHECK": frozenset({"interval", "timeout", "start-period", "start-interval", "retries"}),
}
MOUNT_TYPES = frozenset({"bind", "cache", "tmpfs", "secret"})
MOUNT_OPTIONS = frozenset(
    {
        "type",
        "from",
        "source",
        "src",
        "target",
        "dst",
        "destination",
        "id",
        "sharing",
        "mode",
        "uid",
        "gid",
        "ro",
        "readonly",
        "rw",
        "readwrite",
        "required",
        "size",
        "z",
        "Z",
    }
)
# Docker's rule for stage names, which also keeps them from looking like registry
# references (no ``:`` and no ``/``), so a name is either a stage or an image, never both.
STAGE_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]*$")
URL_SOURCE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://|^git@|\.git(#.*)?$", re.IGNORECASE)
DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
KNOWN_DIRECTIVES = frozenset({"escape", "syntax", "check"})


@dataclass(frozen=True)
class ImageUse:
    """An image the Dockerfile pulls: where (1-based line), how, and the reference."""

    line: int
    instruction: str  # "FROM", "COPY --from", "RUN --mount from"
    reference: str


@dataclass(frozen=True)
class Violation:
    line: int
    msg: str
    type: str


@dataclass(frozen=True)
class DockerfileReport:
    images: tuple[ImageUse, ...]
    violations: tuple[Violation, ...]


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    text: str  # the arguments after the keyword, continuation lines joined


class PolicyError(ValueError):
    """A violation found while reading one instruction."""

    def __init__(self, msg: str, type: str) -> None:
        super().__init__(msg)
        self.msg = msg
        self.type = type


def check_dockerfile(text: str) -> DockerfileReport:
    """Every violation and every image reference of ``text``, with their line numbers."""
    violations: list[Violation] = []
    try:
        instructions, escape = split_instructions(text)
    except PolicyError as error:
        return DockerfileReport((), (Violation(1, error.msg, error.type),))
    state = _State(escape=escape)
    for instruction in instructions:
        try:
            state.apply(instruction)
        except PolicyError as error:
            violations.append(Violation(instruction.line, error.msg, error.type))
    if not state.seen_from and not violations:
        violations.append(Violation(1, "The Dockerfile has no FROM instruction.", "no_from"))
    return DockerfileReport(tuple(state.images), tuple(violations))


def split_instructions(text: str) -> tuple[list[Instruction], str]:
    """The instructions of ``text`` and its escape character, as buildah's parser sees them."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    escape = "\\"
    index = 0
    # Parser directives: only at the very top; the first other line (a comment, an empty
    # line or an instruction) ends them.
    seen: set[str] = set()
    while index < len(lines):
        match = DIRECTIVE.match(lines[index].strip())
        if match is None:
            break
        name, value = match[1].lower(), match[2]
        if name in seen:
            raise PolicyError(f"The parser directive {name} is set twice.", "directive")
        seen.add(name)
        if name == "escape":
            if value not in ("\\", "`"):
                raise PolicyError(f"Invalid escape character {value!r}.", "directive")
            escape = value
        elif name not in KNOWN_DIRECTIVES:
            # Unknown directives are comments to moby's parser; keep it that way.
            pass
        index += 1
    instructions: list[Instruction] = []
    while index < len(lines):
        start = index
        raw = lines[index]
        index += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = [raw.lstrip()]
        while _continues(parts[-1], escape) and index < len(lines):
            parts[-1] = parts[-1].rstrip()[:-1]
            following = lines[index]
            index += 1
            # Comment and empty lines inside a continuation are dropped by the parser.
            while following.strip().startswith("#") or not following.strip():
                if index >= len(lines):
                    following = ""
                    break
                following = lines[index]
                index += 1
            parts.append(following)
        if _continues(parts[-1], escape):
            parts[-1] = parts[-1].rstrip()[:-1]
        joined = "".join(parts).strip()
        keyword, _, rest = joined.partition(" ")
        if "\t" in keyword:
            keyword, _, more = keyword.partition("\t")
            rest = f"{more} {rest}"
        instructions.append(Instruction(start + 1, keyword.upper(), rest.strip()))
    return instructions, escape


def _continues(line: str, escape: str) -> bool:
    return line.rstrip().endswith(escape)


@dataclass
class _State:
    escape: str
    global_args: dict[str, str] = field(default_factory=dict)
    stage_vars: dict[str, str] = field(default_factory=dict)
    stage_names: set[str] = field(default_factory=set)
    stage_count: int = 0
    seen_from: bool = False
    images: list[ImageUse] = field(default_factory=list)

    def apply(self, instruction: Instruction) -> None:
        keyword = instruction.keyword
        if keyword not in INSTRUCTIONS:
            raise PolicyError(f"Unknown instruction {keyword}.", "unknown_instruction")
        flags, rest = _split_flags(instruction.text, self.escape)
        allowed = ALLOWED_FLAGS.get(keyword, frozenset())
        for name, _value in flags:
            if name not in allowed:
                raise PolicyError(_flag_message(keyword, name), "flag_refused")
        if keyword == "ARG":
            self._arg(rest)
        elif not self.seen_from and keyword != "FROM":
            raise PolicyError(f"{keyword} before the first FROM.", "no_from")
        elif keyword == "FROM":
            self._from(instruction, rest)
        elif keyword == "ENV":
            for name, value in _assignments(rest, self.escape, self.stage_vars, legacy=True):
                self.stage_vars[name] = value or ""
        elif keyword in ("COPY", "ADD"):
            self._copy(instruction, flags, rest)
        elif keyword == "RUN":
            for _name, value in flags:
                for reading in self._readings(value):
                    self._mount(instruction, reading)
        elif keyword == "ONBUILD":
            # Berth's images are OCI images, which have no ONBUILD triggers: buildah warns
            # and drops them. Refusing them says so instead of pretending they will run.
            raise PolicyError(
                "ONBUILD is not kept in OCI images (buildah ignores it); remove it.", "onbuild"
            )

    def _arg(self, rest: str) -> None:
        scope = self.stage_vars if self.seen_from else self.global_args
        for name, value in _assignments(rest, self.escape, scope, legacy=False, bare=True):
            if value is None:
                # ``ARG NAME`` inside a stage brings in the global default, if any.
                if self.seen_from and name in self.global_args:
                    scope[name] = self.global_args[name]
                else:
                    scope.setdefault(name, "")
            else:
                scope[name] = value

    def _from(self, instruction: Instruction, rest: str) -> None:
        words = rest.split()
        if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
            raise PolicyError("FROM takes an image and optionally AS name.", "from_syntax")
        # FROM substitutes only the ARGs declared before the first FROM.
        image = expand(words[0], self.global_args, self.escape)
        self.seen_from = True
        self.stage_vars = {}
        if not image:
            raise PolicyError(f"FROM {words[0]} names no image.", "from_syntax")
        if image.lower() != "scratch" and image.lower() not in self.stage_names:
            self.images.append(ImageUse(instruction.line, "FROM", image))
        if len(words) == 3:
            name = words[2]
            if STAGE_NAME.match(name) is None:
                raise PolicyError(
                    f"Invalid stage name {name!r}: use letters, digits, '_', '-' and '.'.",
                    "stage_name",
                )
            self.stage_names.add(name.lower())
        self.stage_count += 1

    def _readings(self, value: str) -> list[str]:
        """``value`` substituted as Docker does (a stage sees a global ARG only after
        declaring it again) and, should a builder differ, with every global ARG visible:
        both are checked, so the policy holds whichever way the builder reads it."""
        strict = expand(value, self.stage_vars, self.escape)
        lenient = expand(value, {**self.global_args, **self.stage_vars}, self.escape)
        return [strict] if strict == lenient else [strict, lenient]

    def _is_stage(self, value: str) -> bool:
        if value.isdigit():
            # A stage index must name an earlier stage; anything else is not a stage.
            return int(value) < self.stage_count - 1
        return value.lower() in self.stage_names

    def _copy(self, instruction: Instruction, flags: list[tuple[str, str]], rest: str) -> None:
        keyword = instruction.keyword
        for name, value in flags:
            if name == "from":
                for source in self._readings(value):
                    if not source:
                        raise PolicyError(f"{keyword} --from names nothing.", "copy_from")
                    if not self._is_stage(source):
                        self.images.append(ImageUse(instruction.line, f"{keyword} --from", source))
        if keyword != "ADD":
            return
        for source in _sources(rest, self.escape, self.stage_vars):
            if URL_SOURCE.search(source):
                raise PolicyError(
                    f"ADD {source} is refused: the builder would fetch it from the host's "
                    "network. Download it outside the build and add the file to the source, "
                    "or fetch it in a RUN step.",
                    "add_url",
                )

    def _mount(self, instruction: Instruction, spec: str) -> None:
        options: dict[str, str] = {}
        for part in _csv_fields(spec):
            key, sep, value = part.partition("=")
            key = key.strip()
            if key not in MOUNT_OPTIONS:
                raise PolicyError(f"RUN --mount option {key!r} is not allowed.", "mount_refused")
            options[key.lower() if key != "Z" else key] = value if sep else "true"
        kind = options.get("type", "bind").lower()
        if kind not in MOUNT_TYPES:
            raise PolicyError(
                f"RUN --mount=type={kind} is refused; use type=cache, tmpfs or secret.",
                "mount_refused",
            )
        source = options.get("source") or options.get("src")
        origin = options.get("from", "")
        if kind == "bind" and not origin:
            raise PolicyError(
                "RUN --mount=type=bind without from= mounts paths from the build host's "
                "side; COPY the files instead.",
                "mount_refused",
            )
        if kind in ("tmpfs", "secret") and (origin or source):
            raise PolicyError(
                f"RUN --mount=type={kind} takes no from= or source=.", "mount_refused"
            )
        if source and not origin:
            raise PolicyError("RUN --mount source= needs from=.", "mount_refused")
        if origin and not self._is_stage(origin):
            self.images.append(ImageUse(instruction.line, "RUN --mount from", origin))


def _flag_message(keyword: str, name: str) -> str:
    if keyword == "RUN" and name == "network":
        return "RUN --network is refused: build steps always run in the build's sandbox network."
    if keyword == "RUN" and name == "security":
        return "RUN --security is refused: build steps never get added privileges."
    return f"{keyword} --{name} is not allowed."


def _split_flags(text: str, escape: str) -> tuple[list[tuple[str, str]], str]:
    """Leading ``--name[=value]`` words, and the rest of the arguments."""
    flags: list[tuple[str, str]] = []
    rest = text
    while rest.startswith("--"):
        word, remainder = _next_word(rest, escape)
        body = word[2:]
        name, _, value = body.partition("=")
        if not name:
            break  # a bare "--" ends the flags, as in moby's parser
        flags.append((name.lower(), value))
        rest = remainder.lstrip()
    return flags, rest


def _next_word(text: str, escape: str) -> tuple[str, str]:
    """The first whitespace-delimited word of ``text``, honouring quotes and escapes."""
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        if char == escape and index + 1 < len(text):
            index += 2
            continue
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char.isspace():
            break
        index += 1
    return text[:index], text[index:]


def _words(text: str, escape: str) -> list[str]:
    words = []
    rest = text.strip()
    while rest:
        word, rest = _next_word(rest, escape)
        words.append(word)
        rest = rest.lstrip()
    return words


def _sources(rest: str, escape: str, variables: Mapping[str, str]) -> list[str]:
    """The sources of COPY/ADD (every argument but the last), in JSON or shell form."""
    stripped = rest.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            return [expand(item, variables, escape, quotes=False) for item in parsed[:-1]]
    return [expand(word, variables, escape) for word in _words(stripped, escape)[:-1]]


def _csv_fields(spec: str) -> list[str]:
    """Comma-separated fields, with double quotes around fields that contain commas."""
    fields: list[str] = []
    current = ""
    quoted = False
    for char in spec:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            fields.append(current)
            current = ""
        else:
            current += char
    if quoted:
        raise PolicyError("Unbalanced quotes in RUN --mount.", "mount_refused")
    fields.append(current)
    return [f for f in fields if f.strip()]


def _assignments(
    rest: str,
    escape: str,
    variables: Mapping[str, str],
    *,
    legacy: bool,
    bare: bool = False,
) -> list[tuple[str, str | None]]:
    """``NAME=value`` pairs of ARG/ENV (ENV also has the old ``NAME value`` form)."""
    words = _words(rest, escape)
    if not words:
        raise PolicyError("Missing NAME=value.", "syntax")
    if legacy and "=" not in words[0]:
        name = words[0]
        value = rest.strip()[len(name) :].strip()
        return [(name, expand(value, variables, escape))]
    pairs: list[tuple[str, str | None]] = []
    known = dict(variables)
    for word in words:
        name, sep, value = word.partition("=")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise PolicyError(f"Invalid variable name {name!r}.", "syntax")
        if not sep:
            if not bare:
                raise PolicyError(f"{name} needs a value (NAME=value).", "syntax")
            pairs.append((name, None))
            continue
        expanded = expand(value, known, escape)
        known[name] = expanded
        pairs.append((name, expanded))
    return pairs


def expand(word: str, variables: Mapping[str, str], escape: str = "\\", quotes: bool = True) -> str:
    """``word`` with quotes removed and ``$VAR``, ``${VAR}``, ``${VAR:-x}``, ``${VAR:+x}``,
    ``${VAR-x}``, ``${VAR+x}`` substituted, as moby's shell lexer does for Dockerfiles.
    Undefined variables are empty (no build arguments are passed to Berth's builds)."""
    out: list[str] = []
    index = 0
    quote = ""
    while index < len(word):
        char = word[index]
        if char == escape and index + 1 < len(word) and quote != "'":
            out.append(word[index + 1])
            index += 2
            continue
        if quotes and char in "\"'" and (not quote or quote == char):
            quote = "" if quote else char
            index += 1
            continue
        if char == "$" and quote != "'":
            value, index = _dollar(word, index, variables, escape)
            out.append(value)
            continue
        out.append(char)
        index += 1
    if quote:
        raise PolicyError(f"Unbalanced quotes in {word!r}.", "syntax")
    return "".join(out)


def _dollar(word: str, index: int, variables: Mapping[str, str], escape: str) -> tuple[str, int]:
    """Substitute the ``$`` expression at ``word[index]``; return it and the next index."""
    rest = word[index + 1 :]
    simple = re.match(r"[A-Za-z_][A-Za-z0-9_]*", rest)
    if simple:
        return variables.get(simple[0], ""), index + 1 + simple.end()
    if not rest.startswith("{"):
        return "$", index + 1
    depth = 0
    close = -1
    for position, char in enumerate(rest):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                close = position
                break
    if close < 0:
        raise PolicyError(f"Unterminated ${{ in {word!r}.", "substitution")
    body = rest[1:close]
    end = index + 1 + close + 1
    match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])(.*))?", body, re.DOTALL)
    if match is None:
        raise PolicyError(
            f"The substitution ${{{body}}} is not supported; use $NAME, ${{NAME}}, "
            "${NAME:-default} or ${NAME:+value}.",
            "substitution",
        )
    name, operator, argument = match[1], match[2], match[3]
    defined = name in variables
    value = variables.get(name, "")
    if operator is None:
        return value, end
    alternative = expand(argument or "", variables, escape, quotes=False)
    if operator == ":-":
        return (value if value else alternative), end
    if operator == "-":
        return (value if defined else alternative), end
    if operator == ":+":
        return (alternative if value else ""), end
    return (alternative if defined else ""), end
