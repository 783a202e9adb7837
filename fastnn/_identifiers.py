"""Keras's `get(identifier)` for the small object families (regularizers, constraints):
None, an instance, a name, a `{"class_name", "config"}` dict or a class, one rule."""


def resolve(identifier, base, by_name, kind, allow_callable=False):
    """The `base` object `identifier` names (None stays None); `by_name` maps the names
    and class names a config may use to classes; `kind` words the error; plain callables
    pass through when `allow_callable`."""
    if identifier is None or isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str) and identifier in by_name:
        return by_name[identifier]()
    if isinstance(identifier, dict):
        cls = by_name.get(identifier.get("class_name"))
        config = identifier.get("config") or {}
        if cls is not None and isinstance(config, dict):
            try:
                return cls.from_config(dict(config))
            except TypeError as exc:
                raise ValueError(f"Could not build {kind} from {identifier}: {exc}") from None
    if isinstance(identifier, type) and issubclass(identifier, base):
        return identifier()
    if allow_callable and callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}. Known "
                     f"{kind}s: {sorted(by_name)}")
