"""cnncalc.from_torch: PyTorch modules traced with torch.fx (skipped without torch)."""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.errors import CnncalcError

torch = pytest.importorskip("torch", reason="from_torch needs torch")
nn = torch.nn


class Block(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)

    def forward(self, x):
        return torch.relu(self.bn1(self.conv1(x))) + self.conv2(x)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.layer1 = nn.Sequential(Block(8), Block(8))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        x = self.layer1(self.stem(x))
        x = torch.cat([x.mean((2, 3)), self.pool(x).flatten(1)], 1)
        return self.head(x)


def test_from_torch_counts_and_names() -> None:
    m = Net()
    spec = cnncalc.from_torch(m, (3, 32, 32))
    r = cnncalc.analyze(spec)
    assert r.params == sum(p.numel() for p in m.parameters())
    assert r.buffers == 2 * 8 * 2  # two BNs of 8 channels: running mean and variance
    stem = 16 * 16 * 8 * 3 * 9
    block = 2 * (16 * 16 * 8 * 8 * 9)
    assert r.row("layer1.0.conv1").macs == 16 * 16 * 8 * 8 * 9  # module path as the name
    assert r.row("layer1.1.bn1").type == "batchnorm2d"
    assert r.macs == stem + 2 * block + 16 * 5
    assert r.row("cat").output_shape == (16,)


def test_from_torch_shared_module_counted_once() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(6, 6)

        def forward(self, x):
            return self.fc(self.fc(x))

    r = cnncalc.analyze(cnncalc.from_torch(Twice(), (6,)))
    assert r.params == 6 * 6 + 6
    assert r.macs == 2 * 6 * 6
    assert r.row("fc_2").shared_with == "fc"


def test_from_torch_untraceable_says_why_and_suggests_onnx() -> None:
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 4, 1)

        def forward(self, x):
            if x.sum() > 0:  # data-dependent control flow: fx cannot trace it
                return self.a(x)
            return x

    with pytest.raises(CnncalcError) as exc:
        cnncalc.from_torch(Branchy(), (3, 8, 8))
    msg = str(exc.value)
    assert msg.startswith("torch.fx cannot trace Branchy: ")
    assert "export the model to ONNX" in msg
    assert "\n" not in msg


def test_from_torch_unknown_ops_listed() -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.p = nn.PReLU()
            self.u = nn.PixelShuffle(2)

        def forward(self, x):
            return self.u(self.p(x))

    with pytest.raises(CnncalcError, match=r"2 unsupported PyTorch operation type\(s\)"):
        cnncalc.from_torch(Odd(), (4, 8, 8))


def test_from_torch_is_a_lazy_entry() -> None:
    import subprocess
    import sys

    code = "import cnncalc, sys; assert 'torch' not in sys.modules; cnncalc.from_torch"
    subprocess.run([sys.executable, "-c", code], check=True)


# torchvision's published figures (a dev environment; docs/importers.md says how to run)
TORCHVISION = {
    "resnet18": (11_689_512, 1.814),
    "mobilenet_v2": (3_504_872, 0.301),
    "vit_b_16": (86_567_656, 17.564),
    "densenet121": (7_978_856, 2.834),
    "efficientnet_b0": (5_288_548, 0.386),
}


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_from_torch(name: str) -> None:
    tv = pytest.importorskip("torchvision", reason="torchvision checks run in a dev environment")
    params, gmacs = TORCHVISION[name]
    r = cnncalc.analyze(cnncalc.from_torch(getattr(tv.models, name)(), (3, 224, 224)))
    assert r.params == params
    assert round(r.macs / 1e9, 3) == gmacs
