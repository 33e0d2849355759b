"""Reading every source into one layered map, in precedence order (lowest first):

web.config < appsettings.json < appsettings.{Environment}.json < environment variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from postroom.mailsettings import files
from postroom.mailsettings.jsonconfig import MAX_TOKENS, JsonError, JsonTooLong, parse
from postroom.mailsettings.layers import Layers, env_entries, json_entries
from postroom.mailsettings.model import Problem, Report
from postroom.mailsettings.webconfig import read_web_config


@dataclass
class Sources:
    layers: Layers = field(default_factory=Layers)
    report: Report = field(default_factory=Report)
    watched: list[Path] = field(default_factory=list)  # files and folders read or looked for


def read_sources(site_dir: Path, environment: str, environ: Mapping[str, str]) -> Sources:
    sources = Sources(watched=[site_dir])
    if not site_dir.is_dir():
        sources.report.errors.append(
            Problem(
                "settings",
                f"The site directory {site_dir} does not exist or is not a directory.",
                hint="Pass the folder that holds web.config or appsettings.json with --site DIR"
                " or POSTROOM_SITE.",
            )
        )
    else:
        web_config = read_web_config(site_dir, sources.report)
        sources.watched += web_config.watched
        for key, entry in web_config.entries:
            sources.layers.add(key, entry)
        names = ["appsettings.json"]
        if re.fullmatch(r"[A-Za-z0-9_.-]+", environment.strip()) and ".." not in environment:
            names.append(f"appsettings.{environment.strip()}.json")
        for name in names:
            _read_json(site_dir, name, sources)
    for key, entry in env_entries(environ):
        sources.layers.add(key, entry)
    return sources


def _read_json(site_dir: Path, name: str, sources: Sources) -> None:
    path = files.find(site_dir, name)
    if path is None:
        return
    sources.watched.append(path)
    name = path.name
    try:
        root = parse(files.read_text(path, name))
    except files.FileProblem as error:
        sources.report.errors.append(error.problem)
        return
    except JsonTooLong:
        sources.report.errors.append(
            Problem(
                name,
                f"{name} holds more than {MAX_TOKENS:,} JSON values and punctuation marks;"
                " Postroom reads configuration files of a few hundred.",
                hint=f"Check that {name} is the right file.",
            )
        )
        return
    except JsonError as error:
        sources.report.errors.append(
            Problem(
                name,
                f"{name} is not valid JSON: {error.reason} at line {error.line},"
                f" column {error.column}.",
                line=error.line,
                hint="Fix the JSON at that place (comments and trailing commas are allowed).",
            )
        )
        return
    if root is None:
        sources.report.warnings.append(
            Problem(name, f"{name} is empty; it is ignored.", hint="Write {} or remove the file.")
        )
        return
    if root.kind != "object":
        sources.report.errors.append(
            Problem(
                name,
                f"{name} must hold a JSON object {{...}} at the top, not {_a(root.kind)}.",
                line=root.line,
                hint='Start the file with { "Umbraco": { "CMS": { ... } } }.',
            )
        )
        return
    for key, entry in json_entries(root, name):
        sources.layers.add(key, entry)


def _a(kind: str) -> str:
    return {"array": "an array", "null": "null", "bool": "true or false"}.get(kind, f"a {kind}")
