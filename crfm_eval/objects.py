"""Create the object an ObjectSpec names: a registry by class path instead of if/elif chains."""

import inspect
from typing import Any, TypeVar

from hydra.utils import get_class

from crfm_eval.errors import UserError

T = TypeVar("T")


def import_class(class_path: str, base: type[T], what: str) -> type[T]:
    """The class at `class_path`, checked to be a `base`; `what` names the config entry in errors."""
    try:
        cls = get_class(class_path)
    except Exception as error:  # Hydra wraps ImportError/AttributeError in its own types
        raise UserError(f"{what}={class_path!r} cannot be imported ({error}); check the class path.") from None
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise UserError(f"{what}={class_path!r} is not a {base.__name__}; name a subclass of it.")
    return cls


def create_object(
    class_path: str, args: dict[str, Any], base: type[T], what: str, injected: dict[str, Any] | None = None
) -> T:
    """Import `class_path`, check it is a `base`, and call it with `args`.

    `what` names the config entry (e.g. "scenario._target_") in the error a user sees. `injected`
    holds objects the system provides (e.g. credentials), passed only to classes that ask for them
    by parameter name, so they never have to be written in a config.
    """
    cls = import_class(class_path, base, what)
    parameters = inspect.signature(cls).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    unknown = sorted(set(args) - set(parameters)) if not accepts_any else []
    if unknown:
        known = ", ".join(name for name in parameters if name != "self") or "none"
        raise UserError(f"{class_path} does not take the argument(s) {', '.join(unknown)}; it takes: {known}.")
    provided = {name: value for name, value in (injected or {}).items() if name in parameters}
    return cls(**args, **provided)
