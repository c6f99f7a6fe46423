"""``makemessages`` that also reads the Jinja2 templates (``jinja2/``, see certportal/jinja.py).

Django's own reads templates with its template language's lexer, which does not know Jinja2's
``{% trans %}`` blocks or ``_()`` with variables: it would drop their text from the catalogue
and the English pages would fall back to Chinese. Here a template in a ``jinja2`` folder is
read by Jinja2's own parser, and its messages handed to xgettext as Python calls on the lines
they stand on (so the catalogue's references point at the template's lines).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.commands import makemessages
from jinja2 import Environment

JINJA_FOLDER = "jinja2"


def _extractor() -> Environment:
    # Only the i18n extension: certportal.jinja's FoldConstantCalls would turn the very calls
    # looked for here into filters.
    # It only parses, never renders: escaping does not arise.
    return Environment(extensions=["jinja2.ext.i18n"])  # noqa: S701


def messages_of(source: str) -> list[tuple[int, str, str | tuple]]:
    """(line, function, message) for each translatable text of a Jinja2 template; a plural
    message is (singular, plural)."""
    found = []
    for line, function, strings in _extractor().extract_translations(source):
        if isinstance(strings, tuple):
            strings = tuple(s for s in strings if s is not None)
            if function == "ngettext" and len(strings) == 2:
                found.append((line, function, strings))
            elif strings:
                found.append((line, function, strings[0]))
        elif strings is not None:
            found.append((line, function, strings))
    return found


def jinja_messages(folder: Path) -> set[str | tuple[str, str]]:
    """Every message of the Jinja2 templates under ``folder``."""
    return {
        message
        for path in sorted(Path(folder).rglob("*.html"))
        for _line, _function, message in messages_of(path.read_text(encoding="utf-8"))
    }


def as_python(source: str) -> str:
    """A Jinja2 template's messages as gettext calls that xgettext reads, each on its line."""
    lines: dict[int, list[str]] = {}
    for line, _function, message in messages_of(source):
        if isinstance(message, tuple):
            call = f"ngettext({message[0]!r}, {message[1]!r}, 1)"
        else:
            call = f"gettext({message!r})"
        lines.setdefault(line, []).append(call)
    last = max(lines, default=0)
    return "\n".join("; ".join(lines.get(n, [])) for n in range(1, last + 1)) + "\n"


def is_jinja_template(path: str | Path) -> bool:
    """A template of the project's own ``jinja2/`` folder (not, say, a ``.py`` file of an
    installed package named jinja2, which the work file would overwrite)."""
    path = Path(path).resolve()
    return path.suffix == ".html" and path.is_relative_to(Path(settings.BASE_DIR) / JINJA_FOLDER)


class BuildFile(makemessages.BuildFile):
    def preprocess(self):
        if self.domain == "django" and self.is_templatized and is_jinja_template(self.path):
            source = Path(self.path).read_text(encoding="utf-8")
            Path(self.work_path).write_text(as_python(source), encoding="utf-8")
            return
        super().preprocess()


class Command(makemessages.Command):
    build_file_class = BuildFile
