"""What every training job sets up first: a seed that makes runs reproducible, and a device."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seeds Python, NumPy and torch (CPU and CUDA) and asks torch for deterministic kernels.

    Returns:
        A CPU ``torch.Generator`` seeded with ``seed``, for samplers that take one.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


def torch_device(name: str = "auto") -> torch.device:
    """Returns the torch device for ``auto`` (CUDA when present), ``cpu`` or ``cuda``.

    Raises:
        ValueError: when ``cuda`` is asked for and no GPU is visible.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but torch sees no GPU; use --device cpu or auto")
    return torch.device(name)
