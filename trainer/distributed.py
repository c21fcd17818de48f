"""Training on several processes (torchrun): who this process is, and keeping ranks in step.

Every trainer follows the same rules under torchrun: each rank reads its own share of the
photos (and its own random stream), gradients are averaged across ranks before each step,
so is BatchNorm's running statistics after it, and only rank 0 writes anything (cache,
checkpoints, logs, the model). At the end the ranks compare their weights; a rank that
drifted is an error, not a model silently trained on one rank's share.
"""

from __future__ import annotations

import hashlib

import torch
import torch.distributed as dist


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main_process() -> bool:
    return rank() == 0


def share(items, of_rank: int | None = None, of_world: int | None = None):
    """This rank's share of a sequence: every world-th item from its rank on (all on one process)."""
    of_rank = rank() if of_rank is None else of_rank
    of_world = world() if of_world is None else of_world
    return items[of_rank::of_world]


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def average_gradients(parameters) -> None:
    """Each gradient the mean of the ranks' (what DistributedDataParallel does, for trainers
    that call a module's parts instead of its forward)."""
    if world() == 1:
        return
    for parameter in parameters:
        if parameter.grad is not None:
            dist.all_reduce(parameter.grad)
            parameter.grad /= world()


def average_buffers(module: torch.nn.Module) -> None:
    """BatchNorm's running statistics the mean of the ranks' (each saw its own batches)."""
    if world() == 1:
        return
    for buffer in module.buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer)
            buffer /= world()


def weights_digest(module: torch.nn.Module) -> str:
    digest = hashlib.sha1()
    for name, value in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(value.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def check_ranks_agree(module: torch.nn.Module) -> str:
    """The weights' digest, the same on every rank; RuntimeError naming the ranks that differ.
    Its running statistics are first averaged over the ranks (DistributedDataParallel leaves
    each rank's last batches in them), so the model rank 0 exports speaks for every rank's photos."""
    average_buffers(module)
    own = weights_digest(module)
    if world() == 1:
        return own
    everyone: list = [None] * world()
    dist.all_gather_object(everyone, own)
    if len(set(everyone)) > 1:
        differ = [index for index, value in enumerate(everyone) if value != everyone[0]]
        raise RuntimeError(f"ranks {differ} ended with other weights than rank 0: the training was not in step")
    return own
