"""The Spanish catalogues are complete and compiled, and the admin speaks the language asked for.

The catalogue test runs `make messages` (the one command that collects and compiles the
catalogues) in a copy of the project, so the working tree is never touched: every string the
code, the templates and our admin scripts mark must come out translated, none fuzzy, and the
committed .mo files must be what the committed .po files compile to.
"""

import gettext as gnu_gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

LC_MESSAGES = Path("locale/es/LC_MESSAGES")
DOMAINS = ("django", "djangojs")
# What the copy leaves out: the environment, data, caches and the tests (not scanned anyway).
COPY_IGNORED = shutil.ignore_patterns(
    ".*", "var", "tests", "node_modules", "__pycache__", "*.pyc", "benchmarks", "artifacts"
)


def _need_gettext():
    missing = [
        tool
        for tool in ("xgettext", "msgmerge", "msgfmt", "msgattrib", "make")
        if shutil.which(tool) is None
    ]
    if missing:
        pytest.fail(
            f"GNU gettext is missing ({', '.join(missing)}): run `make system`, which installs "
            "Debian's gettext package"
        )


def _entries(po_file: Path, *flags: str) -> list[str]:
    """The msgids of `po_file` that `msgattrib FLAGS` keeps (the header left out)."""
    out = subprocess.run(
        ["msgattrib", "--no-wrap", *flags, str(po_file)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [m for m in re.findall(r'^msgid "(.*)"$', out, re.M) if m]


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    """A copy of the project after `make messages`: its locale/ holds what the code marks."""
    _need_gettext()
    copy = tmp_path_factory.mktemp("messages") / "project"
    shutil.copytree(settings.BASE_DIR, copy, ignore=COPY_IGNORED)
    result = subprocess.run(
        ["make", "--no-print-directory", "messages", f"BIN={Path(sys.executable).parent}"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return copy


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_marked_string_has_a_spanish_translation(collected, domain):
    po_file = collected / LC_MESSAGES / f"{domain}.po"
    assert _entries(po_file), "makemessages found no strings"
    untranslated = _entries(po_file, "--untranslated")
    assert not untranslated, (
        f"{len(untranslated)} strings of {domain}.po have no Spanish translation (run `make "
        f"messages`, translate the empty msgstr in {LC_MESSAGES}/{domain}.po, run it again): "
        f"{untranslated}"
    )
    fuzzy = _entries(po_file, "--only-fuzzy")
    assert not fuzzy, f"fuzzy entries in {domain}.po (check and unmark them): {fuzzy}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_committed_catalogue_is_the_collected_one(collected, domain):
    """No string was added or dropped since the last `make messages` (its .po is committed)."""
    committed = set(_entries(settings.BASE_DIR / LC_MESSAGES / f"{domain}.po"))
    assert set(_entries(collected / LC_MESSAGES / f"{domain}.po")) == committed


def _catalog(mo_file: Path) -> dict:
    with open(mo_file, "rb") as handle:
        return gnu_gettext.GNUTranslations(handle)._catalog


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_committed_mo_is_the_compiled_po(tmp_path, domain):
    _need_gettext()
    compiled = tmp_path / f"{domain}.mo"
    source = settings.BASE_DIR / LC_MESSAGES / f"{domain}.po"
    subprocess.run(["msgfmt", "--check-format", "-o", str(compiled), str(source)], check=True)
    committed = settings.BASE_DIR / LC_MESSAGES / f"{domain}.mo"
    assert committed.exists(), f"run `make messages` and commit {committed}"
    assert _catalog(committed) == _catalog(compiled), (
        f"{committed} is not {source} compiled: run `make messages` and commit both"
    )


# --- the admin in Spanish (server side; the browser test drives it end to end) ------------


def test_the_login_page_speaks_the_browser_language(client):
    page = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9").content.decode()
    assert 'lang="es"' in page
    assert "Nombre de usuario" in page  # Django's own admin strings: Django's es catalogue
    assert 'id="language-switch"' in page and ">Español</button>" in page


def test_the_language_switch_keeps_the_choice_in_a_cookie(admin_client):
    response = admin_client.post("/i18n/setlang/", {"language": "es", "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    page = admin_client.get("/admin/").content.decode()
    assert "Cola de trabajo" in page and "Cumplimiento del mantenimiento preventivo" in page
    admin_client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    assert "Work queue" in admin_client.get("/admin/").content.decode()


def test_the_admin_scripts_catalogue_is_served_in_spanish(admin_client):
    """The admin's own jsi18n (loaded by every change form before the form's scripts) carries
    the djangojs catalogue of LOCALE_PATHS: the checklist editor's and the preview's texts."""
    script = admin_client.get("/admin/jsi18n/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert (
        '"Add item": "A\\u00f1adir elemento"' in script or '"Add item": "Añadir elemento"' in script
    )
    assert "Vista previa no disponible" in script


def test_english_stays_the_default(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert 'lang="en' in page and "Work queue" in page
