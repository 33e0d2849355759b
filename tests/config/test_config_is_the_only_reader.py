"""Nothing but the configuration package reads the process environment."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "postroom"
READS = re.compile(r"os\.environ|getenv|environ\.get")
# Setting, not reading: the command line sets --site, and Django needs its settings module.
ALLOWED = {
    "cli.py": ('os.environ["POSTROOM_SITE"] =', 'os.environ.setdefault("DJANGO_SETTINGS_MODULE"'),
    "wsgi.py": ('os.environ.setdefault("DJANGO_SETTINGS_MODULE"',),
}


def test_no_module_outside_config_reads_the_environment():
    offenders = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC)
        if relative.parts[0] == "config":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if READS.search(line) and not any(
                allowed in line for allowed in ALLOWED.get(str(relative), ())
            ):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == [], "read it through postroom.config instead:\n" + "\n".join(offenders)


def test_settings_py_takes_its_values_from_the_hosting_reader():
    text = (SRC / "settings.py").read_text()

    assert "from postroom.config.hosting import" in text
    assert "dj_database_url" not in text  # it would read DATABASE_URL itself
