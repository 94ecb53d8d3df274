"""The bundled zoo: find specs by model name, family name or path.

Bundled specs live in ``specs/`` at the top of the repository, shipped inside the wheel as
``cnncalc/specs``. A file describes one model or a family (``resnet.yaml`` holds resnet18 …
resnet152 as variants). Names resolve as: an existing path; a file ``NAME.yaml``; a variant of
the file whose name is the longest prefix of NAME; then any file's variant; family aliases
(``inception`` → inception_v3) are printed so nothing is hidden.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from .errors import CnncalcError, did_you_mean
from .spec import Spec, read_spec

__all__ = [
    "specs_dir",
    "resolve",
    "Resolved",
    "zoo_names",
    "zoo_members",
    "ZooMember",
    "CatalogEntry",
    "catalog",
    "FAMILY_ALIASES",
]

#: Family names that are not a spec file's name, mapped to their canonical member.
FAMILY_ALIASES = {
    "inception": "inception_v3",
    "inceptionv3": "inception_v3",
    "yolo": "yolov1",
    "mobilenet": "mobilenet_v2",
    "mobilenetv2": "mobilenet_v2",
    "lenet": "lenet5",
    "fasterrcnn": "fasterrcnn_resnet50_fpn",
    "maskrcnn": "maskrcnn_resnet50_fpn",
    "keypointrcnn": "keypointrcnn_resnet50_fpn",
    "retinanet": "retinanet_resnet50_fpn",
    "fcos": "fcos_resnet50_fpn",
    "ssd": "ssd300_vgg16",
    "ssdlite": "ssdlite320_mobilenet_v3_large",
    "fcn": "fcn_resnet50",
    "deeplabv3": "deeplabv3_resnet50",
    "lraspp": "lraspp_mobilenet_v3_large",
    "r3d": "r3d_18",
    "mc3": "mc3_18",
    "r2plus1d": "r2plus1d_18",
    "autoencoder": "cae",
    "resnext": "resnext50_32x4d",
    "wide_resnet": "wide_resnet50_2",
    "shufflenet": "shufflenet_v2_x1_0",
}


def specs_dir() -> Path:
    """Folder of the bundled specs: inside the installed package, else the source checkout's."""
    here = Path(__file__).resolve().parent
    for cand in (here / "specs", here.parent / "specs"):
        if cand.is_dir():
            return cand
    return here / "specs"


class Resolved(NamedTuple):
    spec: Spec
    variant: str | None
    note: str | None = None  # e.g. "vgg → vgg16 (the family's canonical member)"


def _files() -> list[Path]:
    d = specs_dir()
    if not d.is_dir():
        return []
    return sorted(p for p in d.glob("*.yaml") if not p.name.startswith("_"))


@lru_cache(maxsize=64)
def _load(path: str) -> Spec:
    return read_spec(path)


def _from_file(path: Path, requested: str, alias_note: str | None) -> Resolved:
    """The spec in ``path`` at the variant named ``requested``, else at its canonical member."""
    spec = _load(str(path))
    if requested in spec.variants:
        return Resolved(spec, requested, alias_note)
    if spec.default_variant:
        v = spec.default_variant
        note = alias_note or f"{requested} → {v} (the family's canonical member)"
        return Resolved(spec, v, note)
    return Resolved(spec, None, alias_note)


def resolve(source: Any, input_shape: tuple[int, ...] | None = None) -> Resolved:
    """Resolve a path, a dict, a zoo model name or a family name to a spec (and variant).

    A path may also be a model of another format (ONNX, Keras, darknet, Ultralytics: see
    :mod:`cnncalc.importers`); ``input_shape`` fixes the sizes such a model leaves symbolic."""
    from .importers import is_model_file, read_model

    if isinstance(source, Spec):
        return Resolved(source, None)
    if isinstance(source, dict):
        return Resolved(read_spec(source), None)
    if isinstance(source, Path):
        return Resolved(read_model(source, input_shape), None)
    if not isinstance(source, str) or not source:
        raise CnncalcError(f"expected a spec path, a zoo name or a dict, got {source!r}")
    p = Path(source)
    looks_like_path = is_model_file(source) or "/" in source or "\\" in source
    if p.exists() or looks_like_path:
        return Resolved(read_model(p, input_shape), None)
    name = source.lower()
    note = None
    if name in FAMILY_ALIASES:
        note = f"{source} → {FAMILY_ALIASES[name]} (the family's canonical member)"
        name = FAMILY_ALIASES[name]
    files = _files()
    by_stem = {f.stem: f for f in files}
    if name in by_stem:
        return _from_file(by_stem[name], name, note)
    for stem in sorted(by_stem, key=len, reverse=True):
        if name.startswith(stem):
            spec = _load(str(by_stem[stem]))
            if name in spec.variants:
                return Resolved(spec, name, note)
    for f in files:
        if not _mentions(f, name):  # a variant's name is written in its file: skip the parse
            continue
        spec = _load(str(f))
        if name in spec.variants:
            return Resolved(spec, name, note)
    raise CnncalcError(
        f"'{source}' is neither a spec file nor a zoo model",
        hint=did_you_mean(name, zoo_names() + list(FAMILY_ALIASES), "zoo models")
        + " (`cnncalc list` shows the zoo)",
    )


def _mentions(path: Path, name: str) -> bool:
    """Whether the file's text contains ``name``: reading 40 files is ~1 ms, parsing them ~0.1 s
    (a variant like r3d_18 in video_resnet.yaml is found by this scan, not by its file's name)."""
    try:
        return name in path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return True  # let the parser report it


def zoo_names() -> list[str]:
    """Every addressable zoo name: each file's stem and each variant."""
    names: list[str] = []
    for f in _files():
        names.append(f.stem)
        try:
            names.extend(_load(str(f)).variants)
        except CnncalcError:
            continue
    return sorted(set(names))


class ZooMember(NamedTuple):
    """One addressable model of the zoo: a file without variants, or one variant of a family file.

    ``spec`` is None (and ``error`` says why) when the file does not parse, so a listing can
    show every file even while one is broken.
    """

    name: str
    file: Path
    variant: str | None
    canonical: bool  # the member its file's name (resnet) resolves to, when named otherwise
    spec: Spec | None
    error: str | None = None


def zoo_members() -> list[ZooMember]:
    """Every model of the bundled zoo, one per variant, in file order (files sorted by name)."""
    out: list[ZooMember] = []
    for f in _files():
        try:
            spec = _load(str(f))
        except CnncalcError as err:
            out.append(ZooMember(f.stem, f, None, False, None, str(err)))
            continue
        if spec.variants:
            for v in spec.variants:
                out.append(ZooMember(v, f, v, v == spec.default_variant and v != f.stem, spec))
        else:
            out.append(ZooMember(spec.name, f, None, False, spec))
    return out


class CatalogEntry(NamedTuple):
    """A zoo member with its metadata and headline figures (``cnncalc list``)."""

    name: str
    family: str
    year: int | None
    params: int | None
    macs: int | None
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    description: str
    canonical: bool
    file: str
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dict(self._asdict())
        for k in ("input_shape", "output_shape"):
            d[k] = list(d[k]) if d[k] is not None else None
        return d


def catalog() -> list[CatalogEntry]:
    """Every zoo member analysed at its own input: metadata from the spec (a variant's own
    description/year win), params and MACs from the analysis. A member that fails to build is
    listed with its error instead of stopping the listing."""
    from .analysis import analyze_graph
    from .graph import build_graph

    out: list[CatalogEntry] = []
    for m in zoo_members():
        fam = m.file.stem
        if m.spec is None:
            out.append(
                CatalogEntry(
                    m.name, fam, None, None, None, None, None, "", False, m.file.name, m.error
                )
            )
            continue
        meta = dict(m.spec.meta)
        fam = str(meta.get("family", fam))
        try:
            rep = analyze_graph(build_graph(m.spec, m.variant))
        except CnncalcError as err:
            out.append(
                CatalogEntry(
                    m.name, fam, _year(meta.get("year")), None, None, None, None,
                    str(meta.get("description", "")), m.canonical, m.file.name, str(err),
                )
            )  # fmt: skip
            continue
        meta = rep.meta
        out.append(
            CatalogEntry(
                name=m.name,
                family=fam,
                year=_year(meta.get("year")),
                params=rep.params,
                macs=rep.macs,
                input_shape=tuple(rep.input_shape),
                output_shape=tuple(rep.output_shape),
                description=" ".join(str(meta.get("description", "")).split()),
                canonical=m.canonical,
                file=m.file.name,
            )
        )
    return out


def _year(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None
