"""The README and .env.example name every environment variable the settings read."""

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SETTING_READ = re.compile(r'(?:_strict_int|_strict_bool|env\.[a-z_]+)\(\s*"([A-Z][A-Z0-9_]+)"')


def _variables_read_by_settings() -> set[str]:
    return set(SETTING_READ.findall((REPO_ROOT / "config" / "settings.py").read_text()))


def test_it_finds_the_variables_settings_read():
    # Guards the pattern itself: if it matched nothing, the checks below would pass vacuously.
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"} <= _variables_read_by_settings()


@pytest.mark.parametrize("document", ["README.md", ".env.example"])
def test_it_documents_every_environment_variable(document):
    text = (REPO_ROOT / document).read_text()
    missing = sorted(name for name in _variables_read_by_settings() if name not in text)
    assert not missing, f"{document} does not mention {missing}"
