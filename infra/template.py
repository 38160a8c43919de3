"""The data template (infra/data.yaml) as this repository reads it: short-form tags, parameter
values from settings, `Fn::ForEach` (AWS::LanguageExtensions) over the registry's languages,
the intrinsic functions the data resources use, and their creation order. infra/resources.py
turns the result into API calls."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shared.languages import LANGUAGES
from shared.settings import REPO_ROOT, Settings

TEMPLATE_PATH = REPO_ROOT / "infra" / "data.yaml"

DATA_TYPES = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket")


# --- template loading ---------------------------------------------------------------------
class CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short-form tags into their long form
    (`!Ref X` -> `{"Ref": "X"}`, `!Sub s` -> `{"Fn::Sub": s}`, `!GetAtt A.B` ->
    `{"Fn::GetAtt": ["A", "B"]}`), so the resolver handles one shape only."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=CfnLoader)  # noqa: S506 - CfnLoader derives from SafeLoader
    if not isinstance(doc, dict) or "Resources" not in doc:
        raise ValueError(f"{path}: not a CloudFormation template (no Resources)")
    return doc


def parameter_values(template: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Template defaults, overridden by the service's settings for the names it owns and by
    the language registry for `Languages`. A CommaDelimitedList is a list, as for `Ref`."""
    values: dict[str, Any] = {
        name: _default(spec) for name, spec in (template.get("Parameters") or {}).items()
    }
    overrides: dict[str, Any] = {
        "Languages": list(LANGUAGES),
        "TableName": settings.table,
        "QueuePrefix": settings.queue_prefix,
        "BucketName": settings.bucket,
        "MaxReceiveCount": settings.max_attempts,
        # The claim lease and the message's invisibility are the same clock (ARCHITECTURE).
        "QueueVisibilityTimeout": settings.lease_seconds,
        "OutputRetentionDays": settings.job_ttl_days,
    }
    for name, value in overrides.items():
        if name in values:
            values[name] = value
    return values


def _default(spec: dict[str, Any]) -> Any:
    default = spec.get("Default")
    if spec.get("Type") == "CommaDelimitedList" and isinstance(default, str):
        return [item.strip() for item in default.split(",")]
    return default


# --- Fn::ForEach (AWS::LanguageExtensions) ------------------------------------------------
_FOREACH = "Fn::ForEach::"


def expand_foreach(value: Any, parameters: Mapping[str, Any], bindings: Mapping[str, str] | None = None) -> Any:
    """The tree with every `Fn::ForEach::Name: [Identifier, Collection, Fragment]` replaced by
    one copy of Fragment per item of Collection (a list, or a `Ref` to a list parameter), as
    CloudFormation's transform does: `${Identifier}` / `&{Identifier}` in keys and in `Fn::Sub`
    strings and `Ref: Identifier` become the item; a `Fn::Sub` left without variables becomes
    its string, so `Ref` / `GetAtt` of `!Sub "${Lang}Queue"` name a logical id."""
    bindings = bindings or {}
    if isinstance(value, list):
        return [expand_foreach(v, parameters, bindings) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key.startswith(_FOREACH):
            _merge(out, _expand_loop(key, item, parameters, bindings), key)
        else:
            _merge(out, {_bind_text(key, bindings): expand_foreach(item, parameters, bindings)}, key)
    return _bind_function(out, bindings)


def _expand_loop(key: str, arg: Any, parameters: Mapping[str, Any], bindings: Mapping[str, str]) -> dict[str, Any]:
    if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str) and isinstance(arg[2], dict)):
        raise UnresolvableError(f"{key}: expected [Identifier, Collection, {{fragment}}]")
    identifier, collection, fragment = arg
    out: dict[str, Any] = {}
    for item in _collection(key, collection, parameters, bindings):
        _merge(out, expand_foreach(fragment, parameters, {**bindings, identifier: item}), key)
    return out


def _collection(key: str, value: Any, parameters: Mapping[str, Any], bindings: Mapping[str, str]) -> list[str]:
    value = expand_foreach(value, parameters, bindings)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        value = parameters.get(value["Ref"])
    if isinstance(value, str):
        value = [item.strip() for item in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UnresolvableError(f"{key}: the collection is not a list of strings: {value!r}")
    return value


def _merge(out: dict[str, Any], new: dict[str, Any], where: str) -> None:
    for key, value in new.items():
        if key in out:
            raise ValueError(f"{where}: {key} defined twice")
        out[key] = value


def _bind_text(text: str, bindings: Mapping[str, str]) -> str:
    for name, item in bindings.items():
        text = text.replace(f"${{{name}}}", item).replace(f"&{{{name}}}", re.sub(r"[^0-9A-Za-z]", "", item))
    return text


def _bind_function(value: dict[str, Any], bindings: Mapping[str, str]) -> Any:
    """`Ref: Identifier` -> the item; the identifiers of a `Fn::Sub` string substituted."""
    if len(value) != 1 or not bindings:
        return value
    (key, arg), = value.items()
    if key == "Ref" and isinstance(arg, str) and arg in bindings:
        return bindings[arg]
    if key == "Fn::Sub" and isinstance(arg, str):
        text = _bind_text(arg, bindings)
        return text if "${" not in text else {key: text}
    if key == "Fn::Sub" and isinstance(arg, list) and arg and isinstance(arg[0], str):
        return {key: [_bind_text(arg[0], bindings), *arg[1:]]}
    return value


# --- intrinsic functions ------------------------------------------------------------------
class UnresolvableError(ValueError):
    pass


@dataclass
class Resolver:
    """Resolves intrinsic functions. `ref(logical_id)` and `get_att(logical_id, attr)` of
    resources are delegated to callbacks, so they can return what the backend really has."""

    parameters: dict[str, Any]
    pseudo: dict[str, str]
    ref: Callable[[str], Any] = field(default=lambda name: (_ for _ in ()).throw(UnresolvableError(name)))
    get_att: Callable[[str, str], Any] = field(
        default=lambda name, attr: (_ for _ in ()).throw(UnresolvableError(f"{name}.{attr}"))
    )
    mappings: dict[str, Any] = field(default_factory=dict)

    def _ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.ref(name)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, arg)
            if key.startswith("Fn::"):
                raise UnresolvableError(f"intrinsic function {key} is not supported for local resources")
        return {k: self.resolve(v) for k, v in value.items()}

    def _get_att(self, arg: Any) -> Any:
        name, attr = (arg.split(".", 1) if isinstance(arg, str) else arg)
        return self.get_att(name, attr)

    def _join(self, arg: Any) -> str:
        sep, items = arg
        return str(sep).join(str(v) for v in self.resolve(items))

    def _select(self, arg: Any) -> Any:
        index, items = arg
        return self.resolve(items)[int(self.resolve(index))]

    def _split(self, arg: Any) -> list[str]:
        sep, text = arg
        return str(self.resolve(text)).split(sep)

    def _find_in_map(self, arg: Any) -> Any:
        """`[Map, TopKey, SecondKey]`, or with a 4th `{DefaultValue: x}` for a missing key."""
        name, top, second = (self.resolve(a) for a in arg[:3])
        row = (self.mappings.get(name) or {}).get(top) or {}
        if second in row:
            return row[second]
        if len(arg) > 3 and "DefaultValue" in (arg[3] or {}):
            return self.resolve(arg[3]["DefaultValue"])
        raise UnresolvableError(f"Fn::FindInMap {name}.{top}.{second}: no such entry")

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, local_vars = arg[0], {k: self.resolve(v) for k, v in (arg[1] or {}).items()}
        else:
            text, local_vars = arg, {}
        out: list[str] = []
        i = 0
        while i < len(text):
            start = text.find("${", i)
            if start < 0:
                out.append(text[i:])
                break
            out.append(text[i:start])
            end = text.find("}", start)
            if end < 0:
                raise UnresolvableError(f"unterminated ${{ in {text!r}")
            expr = text[start + 2 : end]
            if expr.startswith("!"):  # ${!Literal} is an escaped literal "${Literal}"
                out.append("${" + expr[1:] + "}")
            elif expr in local_vars:
                out.append(str(local_vars[expr]))
            elif "." in expr and expr.split(".", 1)[0] not in self.parameters and expr not in self.pseudo:
                name, attr = expr.split(".", 1)
                out.append(str(self.get_att(name, attr)))
            else:
                out.append(str(self._ref(expr)))
            i = end + 1
        return "".join(out)


_FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": Resolver._ref,
    "Fn::Sub": Resolver._sub,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Join": Resolver._join,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::FindInMap": Resolver._find_in_map,
}


def references(value: Any) -> set[str]:
    """Logical ids a property tree refers to (via Ref, GetAtt or ${X} / ${X.Attr} in Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= references(v)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg.split(".", 1)[0] if isinstance(arg, str) else arg[0])
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                i = 0
                while (start := text.find("${", i)) >= 0:
                    end = text.find("}", start)
                    if end < 0:
                        break
                    expr = text[start + 2 : end]
                    if not expr.startswith("!"):
                        found.add(expr.split(".", 1)[0])
                    i = end + 1
                if isinstance(arg, list) and len(arg) > 1:
                    found |= references(arg[1])
            else:
                found |= references(arg)
    return found


def data_resources(template: dict[str, Any], parameters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's table, queues and buckets, `Fn::ForEach` expanded with `parameters`."""
    resources = expand_foreach(template.get("Resources") or {}, parameters)
    return {
        lid: res
        for lid, res in resources.items()
        if isinstance(res, dict) and res.get("Type") in DATA_TYPES
    }


def creation_order(resources: dict[str, dict[str, Any]]) -> list[str]:
    """Topological order over references between the data resources (a DLQ before the
    queue that redrives into it). Stable: template order among independent resources."""
    deps = {lid: (references(res.get("Properties") or {}) | set(_as_list(res.get("DependsOn")))) & set(resources)
            for lid, res in resources.items()}
    order: list[str] = []
    visiting: set[str] = set()

    def visit(lid: str) -> None:
        if lid in order:
            return
        if lid in visiting:
            raise ValueError(f"circular reference involving {lid}")
        visiting.add(lid)
        for dep in sorted(deps[lid], key=list(resources).index):
            visit(dep)
        visiting.discard(lid)
        order.append(lid)

    for lid in resources:
        visit(lid)
    return order


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
