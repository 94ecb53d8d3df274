"""darknet .cfg files: YOLOv3 (written from the paper) against darknet's printed BFLOPs."""

from __future__ import annotations

from pathlib import Path

import pytest

import cnncalc
from cnncalc.errors import CnncalcError

from .import_helpers import run_tty

FIX = Path(__file__).resolve().parent / "fixtures" / "import"
YOLOV3 = FIX / "yolov3.cfg"


@pytest.mark.parametrize("size, bflops", [(320, 38.97), (416, 65.86), (608, 140.69)])
def test_yolov3_bflops(size: int, bflops: float) -> None:
    """darknet prints 38.97 / 65.86 / 140.69 BFLOPs: 2 × the MACs of its convolutions."""
    r = cnncalc.analyze(str(YOLOV3), (3, size, size))
    conv_macs = sum(row.macs for row in r.rows if row.type == "conv2d")
    assert conv_macs == r.macs  # nothing else has MACs in YOLOv3
    assert round(2 * conv_macs / 1e9, 2) == bflops


def test_yolov3_params_pytorch_counting() -> None:
    """61,949,149 parameters (BN γ, β counted; running statistics are buffers)."""
    r = cnncalc.analyze(str(YOLOV3))
    assert r.params == 61_949_149
    # buffers: 2 per BN channel; the three 255-filter output convs have no BN
    bn_channels = sum(row.output_shape[0] for row in r.rows if row.type == "batchnorm2d")
    assert r.buffers == 2 * bn_channels
    assert r.input_shape == (3, 416, 416)  # from [net]
    assert [r.row(n).output_shape for n in ("yolo_82", "yolo_94", "yolo_106")] == [
        (255, 13, 13),
        (255, 26, 26),
        (255, 52, 52),
    ]


def test_yolov3_caveat_in_terminal() -> None:
    """What a person sees at 80 columns: the [yolo] layers are named as having no MACs."""
    code, text = run_tty("summary", str(YOLOV3), "--input", "3x320x320")
    assert code == 0, text
    flat = " ".join(text.split())
    assert "3 darknet yolo layer(s) (yolo_82, yolo_94, yolo_106) decode boxes with no MACs" in flat
    assert "61,949,149" in flat
    assert max(len(line) for line in text.splitlines()) <= 80


def write_cfg(tmp_path: Path, body: str, net: str = "width=13\nheight=13\nchannels=16") -> str:
    p = tmp_path / "m.cfg"
    p.write_text(f"[net]\n{net}\n\n{body}")
    return str(p)


def test_maxpool_stride1_keeps_size(tmp_path: Path) -> None:
    """YOLOv3-tiny's [maxpool] size=2 stride=1: darknet pads size − 1 = 1 in total (at the end)
    and keeps 13×13: ⌊(13 + 1 − 2)/1⌋ + 1 = 13."""
    r = cnncalc.analyze(write_cfg(tmp_path, "[maxpool]\nsize=2\nstride=1\n"))
    assert r.output_shape == (16, 13, 13)


def test_connected_dropout_softmax(tmp_path: Path) -> None:
    body = "[avgpool]\n[dropout]\nprobability=.5\n[connected]\noutput=10\nactivation=linear\n[softmax]\n"
    r = cnncalc.analyze(write_cfg(tmp_path, body))
    assert r.params == 16 * 10 + 10
    assert r.output_shape == (10,)


def test_unknown_sections_listed_at_once(tmp_path: Path) -> None:
    body = "[local]\nsize=3\n[local]\nsize=3\n[crnn]\n[convolutional]\nfilters=4\nsize=1\n"
    with pytest.raises(CnncalcError) as exc:
        cnncalc.analyze(write_cfg(tmp_path, body))
    msg = str(exc.value)
    assert "2 unsupported darknet section type(s) in 3 place(s)" in msg
    assert "[local] ×2 (first: line 6)" in msg and "[crnn] ×1" in msg


def test_bad_value_names_line(tmp_path: Path) -> None:
    with pytest.raises(CnncalcError) as exc:
        cnncalc.analyze(write_cfg(tmp_path, "[convolutional]\nfilters=sixteen\nsize=3\n"))
    assert str(exc.value).startswith(f"{tmp_path / 'm.cfg'}:7: [convolutional] (layer 0)")
    assert "'filters=sixteen' is not an integer" in str(exc.value)


def test_route_groups_slice_channels(tmp_path: Path) -> None:
    """YOLOv4-tiny's [route] groups=2 group_id=1: the second half of the channels."""
    body = "[convolutional]\nfilters=32\nsize=3\npad=1\n[route]\nlayers=-1\ngroups=2\ngroup_id=1\n"
    body += "[convolutional]\nfilters=8\nsize=1\n"
    r = cnncalc.analyze(write_cfg(tmp_path, body))
    assert r.row("route_1").output_shape == (16, 13, 13)
    assert r.row("conv_2").params == 16 * 8 + 8


def test_residual_units_become_a_repeated_block(tmp_path: Path) -> None:
    """Darknet-53's repeated units (conv 1×1, conv 3×3, shortcut -3) read as one block
    instance with repeat, named after darknet's first layer number; routes still find them."""
    r = cnncalc.analyze(str(YOLOV3))
    assert r.row("res_13.7.conv2").output_shape == (256, 52, 52)  # 8 units at stride 8
    assert r.row("res_13.0.conv1").params == 256 * 128  # 1×1, 256 → 128, no bias (BN follows)
    from cnncalc.importers._yaml import spec_to_yaml
    from cnncalc.importers.darknet import read

    text = spec_to_yaml(read(YOLOV3.read_text(), str(YOLOV3)))
    assert "  - residual_leaky: {f1: 128, f2: 256}\n    name: res_13\n    repeat: 8\n" in text
    assert "inputs: [upsample_85, res_38]" in text  # route -1, 61: the 8×512 stage's output


def test_yolov4_tiny_bflops() -> None:
    """YOLOv4-tiny (route groups=2 group_id=1 halves): darknet prints 6.9 BFLOPs at 416."""
    r = cnncalc.analyze(str(FIX / "yolov4-tiny.cfg"))
    conv_macs = sum(row.macs for row in r.rows if row.type == "conv2d")
    assert round(2 * conv_macs / 1e9, 1) == 6.9
    assert r.row("route_3").output_shape == (32, 104, 104)  # half of layer 2's 64 channels
    assert [r.row(n).output_shape for n in ("yolo_30", "yolo_37")] == [(255, 13, 13), (255, 26, 26)]
