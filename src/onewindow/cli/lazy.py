"""Command groups loaded when they are run, so `onewindow --help` imports none of them.

A group's module (and through it scikit-learn, polars, Splink…) is imported only when the
group is resolved to run — ``onewindow mining report …`` loads ``onewindow.cli.mining`` and
nothing else. The root help lists each group from a placeholder carrying its help text; a
test checks that text against the loaded group's own. The pattern is Click's documented lazy
group, taking care that help listing never triggers the import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, ClassVar

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from rich.console import Console


class _Placeholder(TyperGroup):
    """Stands for a group in the root help until the group is run."""

    def __init__(self, *, name: str, target: str, help: str) -> None:
        super().__init__(name=name, help=help, no_args_is_help=True)
        self.target = target


class LazyGroups(TyperGroup):
    """A root group whose ``groups`` (name → ("module:attribute", help)) load on demand.

    Subclass it with ``groups`` set and pass the subclass as ``typer.Typer(cls=...)``.
    """

    groups: ClassVar[dict[str, tuple[str, str]]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, (target, help_text) in self.groups.items():
            self.commands.setdefault(name, _Placeholder(name=name, target=target, help=help_text))

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        if isinstance(cmd, _Placeholder) and name is not None:
            cmd = self.load(name)
        return name, cmd, rest

    def load(self, name: str) -> TyperGroup:
        """The real group behind ``name`` (importing its module once)."""
        cmd = self.commands[name]
        if not isinstance(cmd, _Placeholder):
            assert isinstance(cmd, TyperGroup)
            return cmd
        module, _, attribute = cmd.target.partition(":")
        sub = getattr(importlib.import_module(module), attribute)
        if not isinstance(sub, typer.Typer):
            raise TypeError(f"{cmd.target} is not a typer.Typer")
        group = typer.main.get_group(sub)
        group.name = name
        self.commands[name] = group
        return group


class LazyConsole:
    """A rich ``Console`` made on first use: importing rich costs more than all of
    ``onewindow --help`` may take."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Any = None

    def get(self) -> Console:
        """The console itself, for code that takes a ``Console``."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


def escape(text: str) -> str:
    """rich's markup escape, imported when first needed."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)
