"""AlexNet adapted to 28/32 px grayscale images (docs/method.md §3), and the CIFAR-style ResNet-18 that
InstaHide's reference code trains (docs/method.md §6).

Five conv layers and three fully connected layers with ReLU, max-pooling and dropout, as in
AlexNet (Krizhevsky et al.), with kernels and strides sized for small images. ``width`` scales
every layer's channels and hidden units: 1.0 is the paper scale, smaller widths are for CPUs.

Layer plan (width 1.0, 28 px input): conv5×5 64 → pool → conv5×5 192 → pool → conv3×3 384 →
conv3×3 256 → conv3×3 256 → pool → [dropout, fc 4096] → [dropout, fc 4096] → fc classes.
"""

from __future__ import annotations

import torch
from torch import nn

from disguisednets.registry import Registry

__all__ = ["MODELS", "AlexNet", "BlockAdaptation", "ResNet18", "Standardized", "build_model"]


class AlexNet(nn.Module):
    def __init__(self, image_size: int = 28, in_channels: int = 1, num_classes: int = 10,
                 width: float = 1.0, dropout: float = 0.5):
        super().__init__()
        if not width > 0:
            raise ValueError(f"AlexNet width must be positive; got {width!r}.")
        if image_size < 8:
            raise ValueError(f"AlexNet needs images of at least 8 px; got {image_size}.")
        c = [max(1, round(k * width)) for k in (64, 192, 384, 256, 256)]
        hidden = max(1, round(4096 * width))
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c[0], 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(c[0], c[1], 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c[2], c[3], 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c[3], c[4], 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        )
        side = image_size // 8
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout), nn.Linear(c[4] * side * side, hidden), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class _BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out))
        self.shortcut = (nn.Sequential() if stride == 1 and c_in == c_out else
                         nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNet18(nn.Module):
    """The CIFAR-style ResNet-18 of InstaHide's reference code (``models/resnet.py`` there): a 3×3 stem at
    stride 1, four stages of two basic blocks (64·w, 128·w, 256·w, 512·w channels; stride 2 from the
    second), global average pooling and one linear layer. ``width`` scales the channels (1.0: theirs);
    ``dropout`` is accepted for a common interface and unused, as there."""

    def __init__(self, image_size: int = 28, in_channels: int = 1, num_classes: int = 10, width: float = 1.0,
                 dropout: float = 0.0):
        super().__init__()
        if not width > 0:
            raise ValueError(f"ResNet18 width must be positive; got {width!r}.")
        c = [max(1, round(k * width)) for k in (64, 128, 256, 512)]
        layers = [nn.Conv2d(in_channels, c[0], 3, 1, 1, bias=False), nn.BatchNorm2d(c[0]), nn.ReLU(inplace=True)]
        c_in = c[0]
        for i, c_out in enumerate(c):
            layers += [_BasicBlock(c_in, c_out, 1 if i == 0 else 2), _BasicBlock(c_out, c_out, 1)]
            c_in = c_out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class BlockAdaptation(nn.Module):
    """Tanaka's block-wise adaptation network (Learnable image encryption, 2018) in front of a model:
    an M×M convolution with stride M (one linear map per block, shared by all blocks: it can learn to
    undo a key that is the same for every block), batch norm and ReLU, a 1×1 convolution, and a sub-pixel
    convolution (pixel shuffle) back to an H×W image of ``channels`` channels."""

    def __init__(self, in_channels: int, block: int, channels: int):
        super().__init__()
        width = channels * block * block
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, block, stride=block), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 1), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.PixelShuffle(block),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Standardized(nn.Module):
    """A trained classifier with its input standardization (docs/method.md §3) in front: takes images on
    the pixel scale, (N, H, W) or (N, H, W, C), as the disguise outputs them; returns logits."""

    def __init__(self, model: nn.Module, mean, std):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images.float() - self.mean) / self.std
        x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
        return self.model(x.contiguous())


def build_model(model_cfg, image_size: int, num_classes: int, seed: int | None = None, in_channels: int = 1,
                adaptation_block: int | None = None) -> nn.Module:
    """The ``model/`` config's network for ``in_channels`` input channels; ``seed`` fixes its initialization
    (the fold's seed). ``adaptation_block``: put a :class:`BlockAdaptation` of that block size in front
    (it maps the 2C nibble channels of the learnable encryption to C image channels)."""
    cls = MODELS[model_cfg.name]
    if seed is not None:
        torch.manual_seed(int(seed))
    if adaptation_block:
        channels = max(1, in_channels // 2)
        return nn.Sequential(BlockAdaptation(in_channels, int(adaptation_block), channels),
                             cls(image_size=image_size, in_channels=channels, num_classes=num_classes,
                                 width=model_cfg.width, dropout=model_cfg.dropout))
    return cls(image_size=image_size, in_channels=in_channels, num_classes=num_classes, width=model_cfg.width,
               dropout=model_cfg.dropout)


MODELS: Registry[type[nn.Module]] = Registry("model", [("alexnet", AlexNet), ("resnet18", ResNet18)])
