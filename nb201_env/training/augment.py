"""Batched data augmentation and normalization on whole uint8 tensors, with no per-sample Python work.

The official pipeline runs per image: ``RandomHorizontalFlip``, ``RandomCrop(size, padding)`` (zero
padding, i.e. black pixels), ``ToTensor`` (/255) and ``Normalize(mean, std)``. Here a whole chunk of
images is padded once, cropped with per-sample offsets by one gather, flipped with one ``where`` and
normalized with one fused multiply-add; padding happens before normalization, so padded pixels get the
value of black exactly as in the official code. The random numbers come from the passed generator on its own
device (the trainers keep it on the CPU), so a seed gives the same crops and flips on every device.
"""

from __future__ import annotations

from nb201_env.training._torch import torch

Tensor = torch.Tensor


def random_crop(images: Tensor, padding: int, generator: torch.Generator) -> Tensor:
    """Return random ``H x W`` crops of the zero-padded ``uint8 (N, C, H, W)`` images."""
    if padding == 0:
        return images
    n, c, h, w = images.shape
    padded = torch.nn.functional.pad(images, (padding, padding, padding, padding))
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator, device=generator.device)
    offsets = offsets.to(images.device)
    rows = (offsets[0, :, None] + torch.arange(h, device=images.device))[:, None, :, None]
    cols = (offsets[1, :, None] + torch.arange(w, device=images.device))[:, None, None, :]
    batch = torch.arange(n, device=images.device)[:, None, None, None]
    channel = torch.arange(c, device=images.device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


def random_flip(images: Tensor, generator: torch.Generator) -> Tensor:
    """Mirror each image horizontally with probability 1/2."""
    flip = (torch.rand(len(images), generator=generator, device=generator.device) < 0.5).to(images.device)
    return torch.where(flip[:, None, None, None], images.flip(3), images)


class Normalizer:
    """Turn ``uint8`` images into normalized float tensors: ``(x / 255 - mean) / std`` per channel."""

    def __init__(
        self,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        device: torch.device | str = "cpu",
        channels_last: bool = True,
    ) -> None:
        std_t = torch.tensor(std, dtype=torch.float32, device=device)
        self.scale = (1.0 / (255.0 * std_t)).view(1, -1, 1, 1)
        self.shift = (-torch.tensor(mean, dtype=torch.float32, device=device) / std_t).view(1, -1, 1, 1)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __call__(self, images: Tensor) -> Tensor:
        out = torch.addcmul(self.shift, images.float(), self.scale)  # one fused pass instead of /255, -mean, /std
        return out.contiguous(memory_format=self.memory_format)


def augment(images: Tensor, padding: int, flip: bool, generator: torch.Generator) -> Tensor:
    """Apply the training augmentation (random crop with zero padding, random flip) to ``uint8`` images."""
    out = random_crop(images, padding, generator)
    return random_flip(out, generator) if flip else out
