"""A tuned plain PyTorch training loop: the baseline our trainer is timed against (CPU and GPU).

What a careful researcher writes by hand: the whole training set as one uint8 tensor on the device, one
random permutation per epoch, per-sample random crop (zero padding) and flip done on the batch with tensor
ops, normalization in one fused op, channels-last, SGD with the fused kernel, AMP where asked. No caching,
no curves, no timing per epoch: just the steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def plain_epochs(
    index: int, splits: Any, recipe: Any, epochs: int, device: str, amp: bool, channels_last: bool, seed: int = 0
) -> int:
    """Train ``epochs`` epochs of architecture ``index``; return the number of images stepped through."""
    import torch
    import torch.nn.functional as F

    from nb201_env.training.network import NB201Network

    dev = torch.device(device)
    torch.manual_seed(seed)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = NB201Network(index, splits.num_classes, recipe.channels, recipe.cells_per_stage).to(dev, memory_format=fmt)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                                weight_decay=recipe.weight_decay, nesterov=recipe.nesterov, fused=True)  # fmt: skip
    x_all = torch.from_numpy(np.ascontiguousarray(splits.train.images)).to(dev)
    y_all = torch.from_numpy(splits.train.labels).to(dev)
    mean = torch.tensor(splits.mean, device=dev).view(1, 3, 1, 1) * 255
    std = torch.tensor(splits.std, device=dev).view(1, 3, 1, 1) * 255
    n, size = len(x_all), x_all.shape[-1]
    pad = recipe.padding_for(size)
    dtype = torch.bfloat16 if dev.type == "cpu" or torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler(dev.type, enabled=amp and dtype == torch.float16)
    steps = 0
    for epoch in range(epochs):
        for group in optimizer.param_groups:
            group["lr"] = recipe.lr_at(epoch)
        for idx in torch.randperm(n, device=dev).split(recipe.batch_size):
            x = x_all[idx]
            if pad:
                b = len(x)
                padded = F.pad(x, (pad, pad, pad, pad))
                dy, dx = torch.randint(0, 2 * pad + 1, (2, b, 1, 1), device=dev)
                ar = torch.arange(size, device=dev)
                rows = (dy + ar.view(1, -1, 1)).expand(b, size, size)
                cols = (dx + ar.view(1, 1, -1)).expand(b, size, size)
                x = padded[torch.arange(b, device=dev).view(-1, 1, 1), :, rows, cols].permute(0, 3, 1, 2)
            if recipe.flip:
                x = torch.where(torch.rand(len(x), 1, 1, 1, device=dev) < 0.5, x.flip(3), x)
            x = ((x.float() - mean) / std).contiguous(memory_format=fmt)
            with torch.autocast(dev.type, dtype=dtype, enabled=amp):
                loss = F.cross_entropy(model(x).float(), y_all[idx])
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            steps += len(idx)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return steps
