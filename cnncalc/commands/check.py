"""``cnncalc check SPEC...``: compare each spec's ``expected`` figures with its analysis (CI for
one's own specs). Exit 0 when every figure agrees, 1 on any mismatch or a spec that fails."""

from __future__ import annotations

import json
from typing import Any

import typer


def _members(source: str) -> list[tuple[Any, str | None, str]]:
    """(spec, variant, label) for each member a source names: a file with variants gives all
    of them, a zoo name its member, a family name its canonical member."""
    from ..zoo import resolve

    r = resolve(source)
    looks_like_file = source.endswith((".yaml", ".yml")) or "/" in source or "\\" in source
    if looks_like_file and r.spec.variants:
        return [(r.spec, v, v) for v in r.spec.variants]
    return [(r.spec, r.variant, r.variant or r.spec.name)]


def check(
    specs: list[str] = typer.Argument(..., metavar="SPEC...", help="Spec files or zoo names."),
    format: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """Check specs against their `expected` figures; exit 1 on any mismatch."""
    from ..analysis import analyze_graph
    from ..errors import CnncalcError
    from ..expand import expand_spec
    from ..expected import compare_expected

    if format not in ("table", "json"):
        raise CnncalcError(f"cnncalc check has no format '{format}'", hint="use table or json")
    results: list[dict[str, Any]] = []
    for source in specs:
        try:
            members = _members(source)
        except CnncalcError as err:
            results.append({"spec": source, "status": "error", "message": str(err)})
            continue
        for spec, variant, label in members:
            entry: dict[str, Any] = {"spec": label, "file": spec.file}
            try:
                graph = expand_spec(spec, variant, None, None)
                exp = graph.expected or {}
                if not exp:
                    entry.update(status="none", message="no expected figures")
                else:
                    bad = compare_expected(analyze_graph(graph), exp)
                    checked = sorted(k for k in exp if k not in ("source", "note", "notes"))
                    entry.update(
                        status="mismatch" if bad else "ok",
                        checked=checked,
                        mismatches=[
                            {"key": m.key, "expected": m.expected, "actual": m.actual} for m in bad
                        ],
                        message="; ".join(m.message for m in bad),
                    )
            except CnncalcError as err:
                entry.update(status="error", message=str(err))
            results.append(entry)
    failed = [r for r in results if r["status"] in ("mismatch", "error")]
    if format == "json":
        typer.echo(json.dumps({"ok": not failed, "results": results}, indent=2, default=str))
    else:
        for r in results:
            if r["status"] == "ok":
                typer.echo(f"ok        {r['spec']} ({', '.join(r['checked'])})")
            elif r["status"] == "none":
                typer.echo(f"-         {r['spec']}: no expected figures")
            else:
                typer.echo(f"{r['status'].upper():9} {r['spec']}: {r['message']}")
        n_ok = sum(r["status"] == "ok" for r in results)
        typer.echo(
            f"{n_ok} of {len(results)} agree with their expected figures"
            + (f", {len(failed)} failed" if failed else "")
        )
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(check)
