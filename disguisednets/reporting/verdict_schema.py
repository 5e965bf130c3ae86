"""The schema of a benchmark verdict (``verdict.json``, docs/benchmark.md) and its check: a subset of JSON Schema
(type, enum, required, properties, items), checked here with no dependency."""

from __future__ import annotations

from typing import Any

from disguisednets.mechanisms.base import TRAITS

__all__ = ["SCHEMA_VERSION", "VERDICT_SCHEMA", "VERDICT_SCHEMA_V1", "validate_verdict"]

SCHEMA_VERSION = 2   # 2: what the scheme is, declared and measured (the probe)

_NUMBER = {"type": ["number", "null"]}
_RUNG = {"type": "object", "required": ["rung", "pairs", "best_attack", "linkage", "success", "ssim", "verdict"],
         "properties": {"rung": {"type": "string"}, "pairs": {"type": "integer"},
                        "best_attack": {"type": ["string", "null"]}, "linkage": _NUMBER, "success": _NUMBER,
                        "ssim": _NUMBER, "verdict": {"type": "string"}}}
_ATTACK = {"type": "object", "required": ["attack", "threat", "pairs", "linkage", "success", "ssim", "refused"],
           "properties": {"attack": {"type": "string"}, "threat": {"type": "string", "enum": ["a", "b"]},
                          "pairs": {"type": "integer"}, "linkage": _NUMBER, "success": _NUMBER, "ssim": _NUMBER,
                          "refused": {"type": ["string", "null"]}}}
_TRAIT = {"type": "object", "required": ["declared", "measured", "evidence"],
          "properties": {"declared": {"type": "boolean"}, "measured": {"type": "boolean"},
                         "evidence": {"type": "string"}}}
_PROBE = {"type": "object", "required": ["traits", "block_size", "support", "mode", "kind", "unit", "deterministic",
                                         "noise", "seconds", "mismatches"],
          "properties": {"traits": {"type": "object", "properties": {t: _TRAIT for t in TRAITS}, "required": list(TRAITS)},
                         "block_size": {"type": ["integer", "null"]}, "support": {"type": ["integer", "null"]},
                         "mode": {"type": ["string", "null"]}, "kind": {"type": ["string", "null"]},
                         "unit": {"type": ["integer", "null"]}, "deterministic": {"type": "boolean"},
                         "noise": {"type": "string"}, "seconds": {"type": "number"},
                         "mismatches": {"type": "array", "items": {"type": "string"}}}}
VERDICT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "DisguisedNets benchmark verdict",
    "type": "object",
    "required": ["schema", "schema_version", "battery_version", "package_version", "commit", "made", "quick",
                 "setting", "scheme", "data", "scale", "utility", "rungs", "attacks", "theft", "floor"],
    "properties": {
        "schema": {"type": "string", "enum": ["disguisednets-verdict"]},
        "schema_version": {"type": "integer", "enum": [SCHEMA_VERSION]},
        "battery_version": {"type": "integer"},
        "package_version": {"type": "string"},
        "commit": {"type": "string"},
        "made": {"type": "string"},
        "quick": {"type": "boolean"},
        "setting": {"type": "object", "required": ["mechanism", "description", "key_fingerprint", "key_source"],
                    "properties": {"mechanism": {"type": "string"}, "description": {"type": "string"},
                                   "key_fingerprint": {"type": "string"}, "key_source": {"type": "string"}}},
        "scheme": _PROBE,
        "data": {"type": "object", "required": ["dataset", "digest", "image_shape", "sizes"],
                 "properties": {"dataset": {"type": "string"}, "digest": {"type": ["string", "null"]},
                                "image_shape": {"type": "array", "items": {"type": "integer"}},
                                "sizes": {"type": "object"}}},
        "scale": {"type": "string"},
        "utility": {"type": "object", "required": ["baseline_accuracy", "disguised_accuracy", "cost"],
                    "properties": {"baseline_accuracy": {"type": "number"}, "disguised_accuracy": {"type": "number"},
                                   "cost": {"type": "number"}}},
        "rungs": {"type": "array", "items": _RUNG},
        "attacks": {"type": "array", "items": _ATTACK},
        "theft": {"type": "object"},
        "floor": {"type": "string"},
        "minutes": {"type": "number"},
    },
}

# Version 1 (battery versions 1–2): the same verdict without what the scheme is; still read (older verdict files).
VERDICT_SCHEMA_V1: dict[str, Any] = {
    **VERDICT_SCHEMA, "required": [k for k in VERDICT_SCHEMA["required"] if k != "scheme"],
    "properties": {**{k: v for k, v in VERDICT_SCHEMA["properties"].items() if k != "scheme"},
                   "schema_version": {"type": "integer", "enum": [1]}},
}

_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _is(value, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[kind])


def validate_verdict(document: Any, schema: dict | None = None, where: str = "verdict") -> list[str]:
    """What in ``document`` does not match :data:`VERDICT_SCHEMA` (the subset of JSON Schema it uses: type,
    enum, required, properties, items), one line per problem; empty when it matches. A document of schema version
    1 is checked against :data:`VERDICT_SCHEMA_V1`."""
    if schema is None:
        old = isinstance(document, dict) and document.get("schema_version") == 1
        schema = VERDICT_SCHEMA_V1 if old else VERDICT_SCHEMA
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if kinds and not any(_is(document, k) for k in kinds):
        return [f"{where}: {type(document).__name__} where {' or '.join(kinds)} is expected"]
    problems = []
    if "enum" in schema and document not in schema["enum"]:
        problems.append(f"{where}: {document!r} is not one of {schema['enum']}")
    if isinstance(document, dict):
        problems += [f"{where}: no {k!r}" for k in schema.get("required", ()) if k not in document]
        for k, sub in schema.get("properties", {}).items():
            if k in document:
                problems += validate_verdict(document[k], sub, f"{where}.{k}")
    if isinstance(document, list) and "items" in schema:
        for i, item in enumerate(document):
            problems += validate_verdict(item, schema["items"], f"{where}[{i}]")
    return problems
