"""Generator weights in safetensors files whose metadata carries config and provenance.

Loading never executes code. Files may store fp16 (or any float) tensors; they are
loaded as float32. A registry lists the shipped models and the user's own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from . import paths
from .atomic import atomic_path
from .errors import ModelError
from .networks import GeneratorConfig, build_generator

FORMAT_NAME = "autochrome-generator"
FORMAT_VERSION = 2  # 2: hint inputs, ab classes, EfficientNet-Lite1/2, TF-Lite preprocessing
DEFAULT_MODEL_NAME = "autochrome-default"
SUFFIX = ".safetensors"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: Path
    config: GeneratorConfig
    provenance: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    origin: str = "file"  # "shipped", "user" or "file"

    @property
    def description(self) -> str:
        return str(self.provenance.get("description", ""))


def save_generator(
    path: str | Path,
    model: torch.nn.Module,
    config: GeneratorConfig,
    provenance: dict | None = None,
    metrics: dict | None = None,
    dtype: torch.dtype = torch.float16,
) -> None:
    """Write the generator atomically; floating tensors are stored as `dtype`."""
    tensors = {}
    for key, value in model.state_dict().items():
        value = value.detach().to("cpu")
        if value.is_floating_point():
            value = value.to(dtype)
        tensors[key] = value.contiguous()
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "config": config.to_json(),
        "provenance": json.dumps(provenance or {}, sort_keys=True),
        "metrics": json.dumps(metrics or {}, sort_keys=True),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        save_file(tensors, str(temp), metadata=metadata)


def read_info(path: str | Path, origin: str = "file") -> ModelInfo:
    """The file's description; anything wrong with it is a ModelError that names the file."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path}") from None
    except (SafetensorError, OSError, ValueError) as exc:
        reason = "not a safetensors file" if "header" in str(exc).lower() else str(exc)
        raise ModelError(f"{path.name} is not a readable model file ({reason})") from None
    if metadata.get("format") != FORMAT_NAME:
        raise ModelError(f"{path.name} is not an Autochrome model (no '{FORMAT_NAME}' metadata)")
    try:
        version = int(metadata.get("format_version", "0"))
    except ValueError:
        raise ModelError(f"{path.name}: format_version {metadata.get('format_version')!r} is not a number") from None
    if version > FORMAT_VERSION:
        raise ModelError(f"{path.name} needs a newer Autochrome (model format {version})")
    try:
        config = GeneratorConfig.from_json(metadata["config"])
        provenance = json.loads(metadata.get("provenance", "{}")) or {}
        metrics = json.loads(metadata.get("metrics", "{}")) or {}
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"{path.name} has a damaged model description ({exc})") from None
    if not isinstance(provenance, dict) or not isinstance(metrics, dict):
        raise ModelError(f"{path.name} has a damaged model description (provenance and metrics must be objects)")
    return ModelInfo(path.stem, path, config, provenance, metrics, origin)


def load_generator(path: str | Path, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, ModelInfo]:
    """Rebuild the generator from the file alone, in eval mode, float32, on `device`."""
    info = read_info(path)
    _check_shapes(info)
    model = build_generator(info.config)
    state = {}
    try:
        with safe_open(str(info.path), framework="pt") as handle:
            for key in handle.keys():
                state[key] = handle.get_tensor(key)
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"{info.path.name} could not be read ({exc})") from None
    own = model.state_dict()
    for key, value in state.items():
        if key in own and value.is_floating_point():
            state[key] = value.to(own[key].dtype)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"{info.path.name} does not match its own config: {exc}") from None
    broken = [key for key, value in state.items() if value.is_floating_point() and not torch.isfinite(value).all()]
    if broken:
        raise ModelError(f"{info.path.name} holds NaN or infinite weights ({broken[0]}); it cannot colorize")
    return model.to(device).eval(), info


def _check_shapes(info: ModelInfo) -> None:
    """The file's tensors must be the ones its config describes, name and shape, before any
    memory is given to the network (built first on the meta device, which allocates nothing)."""
    with torch.device("meta"):
        expected = {key: tuple(value.shape) for key, value in build_generator(info.config).state_dict().items()}
    try:
        with safe_open(str(info.path), framework="pt") as handle:
            found = {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"{info.path.name} could not be read ({exc})") from None
    if found != expected:
        missing = sorted(set(expected) - set(found))[:1] or sorted(set(found) - set(expected))[:1] or [
            next(key for key in expected if expected[key] != found.get(key))]
        raise ModelError(f"{info.path.name} does not match its own config (first difference: {missing[0]})")


# -------------------------------------------------------------------- registry


def list_models(broken: list | None = None) -> list[ModelInfo]:
    """Shipped models first (default first), then the user's, each sorted by name. Files
    that cannot be used are left out; pass a list as `broken` to get (path, reason) of each."""
    found = []
    for origin, folder in (("shipped", paths.shipped_models_dir()), ("user", paths.user_models_dir())):
        if not folder.is_dir():
            continue
        infos = []
        for file in sorted(folder.glob("*" + SUFFIX)):
            try:
                infos.append(read_info(file, origin))
            except ModelError as exc:
                if broken is not None:
                    broken.append((file, str(exc)))
            except Exception as exc:  # one odd file never hides the others
                if broken is not None:
                    broken.append((file, f"{file.name}: unreadable ({exc})"))
        infos.sort(key=lambda info: (info.name != DEFAULT_MODEL_NAME, info.name))
        found.extend(infos)
    return found


def resolve_model(name_or_path: str | Path | None) -> Path:
    """A path to a file, a model name from the registry, or None for the default."""
    if name_or_path is None or str(name_or_path) == "":
        name_or_path = DEFAULT_MODEL_NAME
    candidate = Path(name_or_path)
    if candidate.suffix == SUFFIX or candidate.exists():
        if not candidate.is_file():
            raise ModelError(f"model file not found: {candidate}")
        return candidate
    for info in list_models():
        if info.name == str(name_or_path):
            return info.path
    names = ", ".join(info.name for info in list_models()) or "none"
    raise ModelError(f"no model named {name_or_path!r} (available: {names})")


# ------------------------------------------------------------ user models


def _user_model(name: str) -> Path:
    path = paths.user_models_dir() / f"{name}{SUFFIX}"
    if not path.is_file():
        raise ModelError(f"no user model named {name!r} (shipped models cannot be changed)")
    return path


_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
MAX_NAME_LENGTH = 80


def check_model_name(name: str) -> str:
    """The one rule for naming a user's model (fine-tune, import, rename): a file name on every
    system, and not the name of another model, ignoring letter case (on macOS and Windows
    "Family" and "family" are one file). Returns the name, trimmed; ModelError says why not."""
    name = str(name).strip()
    if not name:
        raise ModelError("give the model a name")
    if (name.startswith(".") or name.endswith(".") or any(ch in name for ch in '/\\:*?"<>|')
            or any(ord(ch) < 32 for ch in name) or name.split(".")[0].lower() in _RESERVED):
        raise ModelError(f"{name!r} cannot be a model name (no / \\ : * ? \" < > |, no leading or trailing dot)")
    if len(name) > MAX_NAME_LENGTH:
        raise ModelError(f"model names are at most {MAX_NAME_LENGTH} characters")
    for info in list_models():
        if info.name.casefold() == name.casefold():
            kind = "a shipped model" if info.origin == "shipped" else "a model"
            raise ModelError(f"{kind} named {info.name!r} exists already; choose another name")
    return name


def _free_user_path(name: str) -> Path:
    return paths.user_models_dir() / f"{check_model_name(name)}{SUFFIX}"


def rename_user_model(old: str, new: str) -> Path:
    source = _user_model(old)
    target = _free_user_path(new)
    source.rename(target)
    return target


def delete_user_model(name: str) -> None:
    _user_model(name).unlink()


def import_model(file: str | Path, name: str | None = None) -> Path:
    """Copy a model file into the user's models after checking it loads; never overwrites."""
    file = Path(file)
    load_generator(file)  # refuses anything that is not a complete Autochrome model
    target = _free_user_path(name or file.stem)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as temp:
        temp.write_bytes(file.read_bytes())
    return target


def export_model(name: str, destination: str | Path) -> Path:
    """Copy a model (shipped or user) to a single file elsewhere; never overwrites."""
    source = resolve_model(name)
    destination = Path(destination)
    if destination.exists():
        raise ModelError(f"{destination} exists already")
    with atomic_path(destination) as temp:
        temp.write_bytes(source.read_bytes())
    return destination


# -------------------------------------------------------------- affinity head

AFFINITY_FORMAT = "autochrome-affinity"
AFFINITY_FILE = "hint-affinity.safetensors"


def shipped_affinity_path() -> Path:
    """The affinity head that ships beside the default model (its own folder: it is not a model)."""
    return paths.resources_dir() / "guide" / AFFINITY_FILE


def save_affinity_head(path: str | Path, head: torch.nn.Module, provenance: dict | None = None) -> None:
    tensors = {key: value.detach().to("cpu", torch.float16).contiguous() for key, value in head.state_dict().items()}
    metadata = {"format": AFFINITY_FORMAT, "config": head.config.to_json(),
                "provenance": json.dumps(provenance or {}, sort_keys=True)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        save_file(tensors, str(temp), metadata=metadata)


def load_affinity_head(path: str | Path, device: torch.device | str = "cpu") -> torch.nn.Module:
    """The head, float32 in eval mode; ModelError naming the file when it cannot be used."""
    from .networks.affinity import AffinityConfig, AffinityHead

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            if metadata.get("format") != AFFINITY_FORMAT:
                raise ModelError(f"{path.name} is not an Autochrome affinity head")
            head = AffinityHead(AffinityConfig.from_json(metadata["config"]))
            state = {key: handle.get_tensor(key).float() for key in handle.keys()}
        head.load_state_dict(state, strict=True)
    except ModelError:
        raise
    except (SafetensorError, OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ModelError(f"{path.name} could not be read as an affinity head ({exc})") from None
    return head.to(device).eval()


# ---------------------------------------------------------------- damage network

DAMAGE_FORMAT = "autochrome-damage"
DAMAGE_FILE = "damage.safetensors"


def shipped_damage_path() -> Path:
    """The restore step's damage network (engine.networks.damage), beside the affinity head."""
    return paths.resources_dir() / "guide" / DAMAGE_FILE


def save_damage_net(path: str | Path, net: torch.nn.Module, provenance: dict | None = None) -> None:
    # float32: the file is small (tens of kilobytes) and the filters' scales are exact.
    tensors = {key: value.detach().to("cpu", torch.float32).contiguous() for key, value in net.state_dict().items()}
    metadata = {"format": DAMAGE_FORMAT, "config": net.config.to_json(),
                "provenance": json.dumps(provenance or {}, sort_keys=True)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        save_file(tensors, str(temp), metadata=metadata)


def load_damage_net(path: str | Path | None = None, device: torch.device | str = "cpu") -> torch.nn.Module:
    """The damage network, in eval mode; ModelError naming the file when it cannot be used."""
    from .networks.damage import DamageConfig, DamageNet

    path = Path(path) if path is not None else shipped_damage_path()
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            if metadata.get("format") != DAMAGE_FORMAT:
                raise ModelError(f"{path.name} is not an Autochrome damage network")
            net = DamageNet(DamageConfig.from_json(metadata["config"]))
            state = {key: handle.get_tensor(key).float() for key in handle.keys()}
        net.load_state_dict(state, strict=True)
    except ModelError:
        raise
    except (SafetensorError, OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ModelError(f"{path.name} could not be read as a damage network ({exc})") from None
    return net.to(device).eval()
