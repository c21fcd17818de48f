"""Choosing where the generator runs, and saying so."""

from __future__ import annotations

from dataclasses import dataclass

import torch

CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceChoice:
    device: torch.device
    # Autocast dtype for inference; None runs in float32.
    autocast_dtype: torch.dtype | None

    @property
    def dtype_name(self) -> str:
        return {None: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}[self.autocast_dtype]

    def describe(self) -> str:
        if self.device.type == "cuda":
            name = torch.cuda.get_device_name(self.device)
            return f"CUDA ({name}), {self.dtype_name}"
        if self.device.type == "mps":
            return f"Apple MPS, {self.dtype_name}"
        return f"CPU ({torch.get_num_threads()} threads), {self.dtype_name}"


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def choose_device(preference: str = "auto") -> DeviceChoice:
    """Explicit choice if available (else a clear error); auto tries cuda, then mps, then cpu."""
    preference = (preference or "auto").lower()
    if preference not in CHOICES:
        raise ValueError(f"unknown device {preference!r}; choose from {', '.join(CHOICES)}")
    if preference == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA was requested but no CUDA GPU is available")
    if preference == "mps" and not mps_available():
        raise RuntimeError("MPS was requested but Apple's Metal backend is not available")
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "mps" if mps_available() else "cpu"
    if preference == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return DeviceChoice(torch.device("cuda"), dtype)
    if preference == "mps":
        return DeviceChoice(torch.device("mps"), torch.float16)
    return DeviceChoice(torch.device("cpu"), None)


def cpu_choice() -> DeviceChoice:
    return DeviceChoice(torch.device("cpu"), None)


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    # MPS reports exhaustion as a RuntimeError with this text.
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
