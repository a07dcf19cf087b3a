"""torch.distributed, when this process is part of an initialised process group (else None)."""


def initialized():
    try:
        import torch.distributed as dist
        if dist.is_available() and dist.is_initialized():
            return dist
    except Exception:  # noqa: BLE001 - a partial torch build
        pass
    return None
