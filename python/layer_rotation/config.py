"""Training configs (`*.layerrot.json`): JSON with comments and trailing commas, validated against
the JSON schema layerrot.schema.json (this package's copy, the one the editor uses too), with errors
that name the field, and the schema's defaults filled in.

The schema is the one source of the config's shape, ranges, enums and defaults: nothing of them is
restated here. What a schema cannot say (depths of the form 6n+2, decay epochs against epochs,
layerMultipliers against the model's layers, options another engine or optimizer would use) is
checked below, as in src/engine/config/validate.ts, which is the reference.

Validation needs the `jsonschema` package, imported only when a raw config is checked: a config
already resolved by the editor (--resolved-config) is read without it. The result has the shape of
TrainingConfig (src/engine/config/types.ts).
"""
import copy
import json
import math
import os
import re

SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "layerrot.schema.json")

JSONSCHEMA_MISSING = (
    "checking a config needs the Python package jsonschema, which this interpreter lacks: "
    "install it with `pip install jsonschema` (or `apt install python3-jsonschema`)"
)


class ConfigError(Exception):
    """A config that cannot be used; `errors` lists one message per problem, each naming the field."""

    def __init__(self, errors, file=None):
        self.errors = list(errors)
        self.file = file
        prefix = (file + ": ") if file else ""
        super().__init__("invalid config:\n" + "\n".join(prefix + e for e in self.errors))


class JsonschemaMissing(ConfigError):
    """A raw config cannot be checked: this interpreter has no jsonschema package."""

    def __init__(self, file=None):
        super().__init__([JSONSCHEMA_MISSING], file)


# ---------------------------------------------------------------------------------------------
# The schema, and the defaults it gives.

_schema = None


def config_schema():
    """The parsed layerrot.schema.json (read once; do not modify it)."""
    global _schema
    if _schema is None:
        with open(SCHEMA_FILE, encoding="utf-8") as f:
            _schema = json.load(f)
    return _schema


def _resolve(node):
    """The schema node, following local `$ref`s (`#/definitions/...`)."""
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError("layerrot.schema.json: unsupported $ref %r" % ref)
        node = config_schema()
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _holds(condition, value):
    """Whether `value` satisfies an `if` of the schema. They only test `required` keys and `const`
    values of properties (e.g. dataset.name is "mnist"); anything else is refused."""
    known = {"properties", "required"}
    if set(condition) - known or any(set(p) - {"const"} for p in condition.get("properties", {}).values()):
        raise ValueError("layerrot.schema.json: unsupported `if` %s" % json.dumps(condition))
    if not isinstance(value, dict) or any(k not in value for k in condition.get("required", [])):
        return False
    return all(k not in value or value[k] == p["const"] for k, p in condition.get("properties", {}).items())


def _properties(node, value):
    """{key: schema} of the properties an object schema allows for `value`: its own, and those of
    the `then` branches whose `if` holds (the dataset's keys depend on its name, the model's on its type)."""
    node = _resolve(node)
    props = {k: _resolve(p) for k, p in node.get("properties", {}).items()}
    for part in node.get("allOf", []):
        part = _resolve(part)
        if "if" in part and _holds(part["if"], value):
            props.update(_properties(part.get("then", {}), value))
    return props


def _is_object_schema(node):
    """An object whose keys the schema lists (as isObjectSchema in schema.ts): not `sweep`, whose keys are paths."""
    return node.get("type") == "object" and ("properties" in node or "allOf" in node)


def _fill(node, value):
    """A copy of the object `value` with the schema's defaults of `node` added (recursively into
    the objects present)."""
    out = {}
    props = _properties(node, value)
    for key, p in props.items():
        if key not in value and "default" in p:
            out[key] = copy.deepcopy(p["default"])
    for key, v in value.items():
        p = props.get(key)
        out[key] = _fill(p, v) if p is not None and _is_object_schema(p) and isinstance(v, dict) else copy.deepcopy(v)
    return out


def _node_at(path):
    node = config_schema()
    for key in path:
        node = _properties(node, {})[key]
    return node


def schema_default(*path):
    """The schema's default at a path of property names, e.g. ("optimizer", "momentum")."""
    return copy.deepcopy(_node_at(path)["default"])


def schema_enum(*path):
    """The values the schema allows at a path of property names, e.g. ("pytorch", "device")."""
    return list(_node_at(path)["enum"])


def section_defaults(section, **selector):
    """The defaults of a top-level section, e.g. section_defaults("optimizer") or
    section_defaults("model", type="vgg") (the keys that select a branch of the schema)."""
    return _fill(_node_at([section]), selector)


def with_model_defaults(model):
    """The model spec with the schema's defaults filled in (the spec must be valid)."""
    return _fill(_node_at(["model"]), model)


def with_defaults(raw, file):
    """The config with every default filled in (as withDefaults in validate.ts): the schema's
    defaults, every section present (an empty `stopping` when absent), and the name from the file
    when not given. Keys the schema does not know (and `$schema`) are left out."""
    out = {"name": raw.get("name") or default_config_name(file)}
    for key, p in _properties(config_schema(), raw).items():
        if key in out or key.startswith("$"):
            continue
        if _is_object_schema(p):
            out[key] = _fill(p, raw.get(key) or {})
        elif key in raw:
            out[key] = copy.deepcopy(raw[key])
        elif "default" in p:
            out[key] = copy.deepcopy(p["default"])
    return out


# ---------------------------------------------------------------------------------------------
# Reading config text.


def strip_jsonc(text):
    """JSON with comments (// and /* */) and trailing commas -> plain JSON; strings are left alone."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise ConfigError(["unterminated /* comment"])
            out.append(" ")
            i = j + 2
        else:
            out.append(c)
            i += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))


def default_config_name(file):
    base = os.path.basename(file)
    if base.lower().endswith(".layerrot.json"):
        stripped = base[: -len(".layerrot.json")]
    else:
        stripped = re.sub(r"\.jsonc?$", "", base, flags=re.I)
    return stripped or "config"


# ---------------------------------------------------------------------------------------------
# Kernel layers: their names, and the config nodes that define them. The one place the names are
# spelled: the models (models.py) take theirs from here.


def kernel_layer_names(model):
    """Names of a (defaulted) model spec's kernel layers, in forward order (as kernelLayerNames in TS)."""
    return [name for name, _ in kernel_layer_sources(model)]


def kernel_layer_sources(model):
    """[(name, configPath)] of the kernel layers in forward order, as layerSourcePaths in validate.ts:
    mlp dense1..denseK, output; vgg conv{stage}_{i}, fc1.., output; resnet conv1, then per block
    s{stage}b{block}_conv1, _conv2 (and _shortcut in the first block of stages 2 and 3), output."""
    t = model["type"]
    if t == "mlp":
        return [("dense%d" % (i + 1), ["model", "hidden", i]) for i in range(len(model["hidden"]))] + [
            ("output", ["model"])
        ]
    if t == "vgg":
        layers = []
        cps = model["convsPerStage"]
        for s in range(len(model["filters"])):
            convs = cps if isinstance(cps, int) else (cps[s] if s < len(cps) else 0)
            layers += [("conv%d_%d" % (s + 1, i), ["model", "filters", s]) for i in range(1, convs + 1)]
        layers += [("fc%d" % (i + 1), ["model", "dense", i]) for i in range(len(model["dense"]))]
        return layers + [("output", ["model"])]
    if t == "resnet":
        src = ["model", "depth"]
        layers = [("conv1", src)]
        for s in range(1, 4):
            for b in range(1, resnet_blocks_per_stage(model["depth"]) + 1):
                layers += [("s%db%d_conv1" % (s, b), src), ("s%db%d_conv2" % (s, b), src)]
                if s >= 2 and b == 1:
                    layers.append(("s%db1_shortcut" % s, src))
        return layers + [("output", ["model"])]
    raise ValueError("unknown model type %r" % t)


def resnet_blocks_per_stage(depth):
    """n, the basic blocks per stage of a ResNet of depth 6n+2 (0 below 8)."""
    return max(0, (depth - 2) // 6)


# ---------------------------------------------------------------------------------------------
# Schema validation, and jsonschema's errors as messages naming the field.

_validator = None


def _schema_validator():
    global _validator
    try:
        import jsonschema
    except ImportError:
        raise JsonschemaMissing() from None
    if _validator is None:
        cls = jsonschema.validators.validator_for(config_schema())
        _validator = cls(config_schema())
    return _validator


def _where(path):
    """ "optimizer.learningRate", "model.hidden[0]"; the root is "the config"."""
    if not path:
        return "the config"
    return "".join("[%d]" % s if isinstance(s, int) else (s if i == 0 else "." + s) for i, s in enumerate(path))


def _in_where(path):
    return "at the top level" if not path else "in " + _where(path)


def _show(v):
    if isinstance(v, str):
        return "'%s'" % v
    if isinstance(v, list):
        return "an empty array" if not v else "an array of %s" % _count(len(v), "item")
    if isinstance(v, dict):
        return "an object"
    return json.dumps(v)


def _count(n, singular, plural=None):
    return "%d %s" % (n, singular if n == 1 else (plural or singular + "s"))


def _num(x):
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def _quote_list(values):
    return ", ".join("'%s'" % v if isinstance(v, str) else json.dumps(v) for v in values)


def _range(s):
    lo = s.get("exclusiveMinimum", s.get("minimum"))
    hi = s.get("exclusiveMaximum", s.get("maximum"))
    lo_open, hi_open = "exclusiveMinimum" in s, "exclusiveMaximum" in s
    if lo is not None and hi is not None:
        return " in %s%s, %s%s" % ("(" if lo_open else "[", _num(lo), _num(hi), ")" if hi_open else "]")
    if lo is not None:
        return " %s %s" % (">" if lo_open else ">=", _num(lo))
    if hi is not None:
        return " %s %s" % ("<" if hi_open else "<=", _num(hi))
    return ""


def _types(s):
    t = s.get("type")
    return t if isinstance(t, list) else ([t] if t else [])


def _plural(s):
    s = _resolve(s)
    t = (_types(s) or [None])[0]
    if t == "integer":
        return "integers" + _range(s)
    if t == "number":
        return "numbers" + _range(s)
    return t + "s" if t else "values"


def _describe_array(s):
    of = _plural(s["items"]) if "items" in s else "values"
    lo, hi = s.get("minItems"), s.get("maxItems")
    if lo is not None and lo == hi:
        return "an array of %d %s" % (lo, of)
    if hi is not None:
        return "an array of %d to %d %s" % (lo or 0, hi, of)
    return ("a non-empty array of %s" if lo else "an array of %s") % of


def _describe_type(t, s):
    if t in ("integer", "number"):
        return ("an integer" if t == "integer" else "a number") + _range(s)
    if t == "string":
        return "a non-empty string" if s.get("minLength") else "a string"
    if t == "boolean":
        return "true or false"
    if t == "array":
        return _describe_array(s)
    if t == "object":
        extra = s.get("additionalProperties")
        return "an object mapping names to %s" % _plural(extra) if isinstance(extra, dict) else "an object"
    return t


def expectation(s):
    """What a schema node accepts, in words: "an integer >= 1", "a number in (-1, 1)", "an array of 3 integers >= 1"."""
    if "enum" in s:
        return "one of " + _quote_list(s["enum"])
    return " or ".join(_describe_type(t, s) for t in _types(s)) or "valid"


def _first_sentence(text):
    m = re.search(r"\.\s", text)
    return text if not m else text[: m.start() + 1]


_RANGE_KEYWORDS = (
    "type",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "minLength",
)


def _messages(error):
    """Messages for one jsonschema error, naming the field and saying what the schema expects."""
    path = list(error.absolute_path)
    node = error.schema
    kw = error.validator
    if kw == "additionalProperties":
        allowed = [k for k in _properties(node, error.instance) if not k.startswith("$")]
        return [
            "%s: unknown key '%s' %s; allowed keys: %s" % (_where(path + [k]), k, _in_where(path), ", ".join(allowed))
            for k in error.instance
            if k not in node.get("properties", {})
        ]
    if kw == "required":
        out = []
        for key in error.validator_value:
            if key in error.instance:
                continue
            p = _resolve(node.get("properties", {}).get(key, {}))
            detail = ""
            if "enum" in p:
                detail = ", one of " + _quote_list(p["enum"])
            elif "description" in p:
                detail = ": " + _first_sentence(p["description"])
            out.append("missing required key '%s' %s%s" % (key, _in_where(path), detail))
        return out
    if kw in ("enum", "const"):
        allowed = node["enum"] if kw == "enum" else [node["const"]]
        return ["%s must be one of %s, got %s" % (_where(path), _quote_list(allowed), _show(error.instance))]
    if kw in _RANGE_KEYWORDS:
        return ["%s must be %s, got %s" % (_where(path), expectation(node), _show(error.instance))]
    return ["%s: %s" % (_where(path), error.message)]


def schema_errors(raw):
    """The messages of every way `raw` breaks the schema (JsonschemaMissing without jsonschema)."""
    out = []
    for error in _schema_validator().iter_errors(raw):
        for m in _messages(error):
            if m not in out:
                out.append(m)
    return out


# ---------------------------------------------------------------------------------------------
# What the schema cannot say. These read the raw value defensively (it may also have schema
# errors) and leave to the schema what it reports.

# Which optimizer uses each option (as OPTION_OWNERS in validate.ts).
OPTION_OWNERS = {
    "momentum": ("sgd",),
    "nesterov": ("sgd",),
    "beta1": ("adam",),
    "beta2": ("adam",),
    "rho": ("rmsprop",),
    "initialAccumulatorValue": ("adagrad",),
    "epsilon": ("adam", "rmsprop", "adagrad"),
}


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _obj(parent, key):
    v = parent.get(key)
    return v if isinstance(v, dict) else None


def semantic_checks(raw, schema_ok):
    """(errors, warnings) of the cross-field rules; `schema_ok` says whether the schema passed
    (the layer multipliers are only checked against a valid model)."""
    errors, warnings = [], []
    if not isinstance(raw, dict):
        return errors, warnings
    ds, model, opt = _obj(raw, "dataset"), _obj(raw, "model"), _obj(raw, "optimizer")
    sched, mon = _obj(raw, "schedule"), _obj(raw, "monitoring")

    engine = raw.get("engine", schema_default("engine"))
    if engine == "pytorch" and "backend" in raw:
        warnings.append(
            "backend chooses the tfjs backend and is ignored by the pytorch engine (its device is pytorch.device)"
        )
    if engine == "tfjs" and isinstance(raw.get("pytorch"), dict):
        warnings.append('pytorch options apply to the pytorch engine only: set "engine": "pytorch" to use them')

    if model is not None:
        d = model.get("depth")
        if model.get("type") == "resnet" and _is_int(d) and d >= 8 and (d - 2) % 6 != 0:
            below = d - (d - 2) % 6
            errors.append(
                "model.depth %d is not a valid ResNet depth: it must be 6n+2 (8, 14, 20, 26, 32, 38, 44, 56, 110, "
                "...); nearest valid depths: %d or %d" % (d, below, below + 6)
            )
        cps, filters = model.get("convsPerStage"), model.get("filters")
        if (
            model.get("type") == "vgg"
            and isinstance(cps, list)
            and isinstance(filters, list)
            and len(cps) != len(filters)
        ):
            errors.append(
                "model.convsPerStage has %d entries but filters has %d stages; give one number per stage, "
                "or a single number for all stages" % (len(cps), len(filters))
            )
        shape = ds.get("inputShape") if ds is not None else None
        if (
            model.get("type") in ("vgg", "resnet")
            and ds is not None
            and ds.get("name") == "synthetic"
            and isinstance(shape, list)
            and len(shape) != 3
        ):
            errors.append(
                "a %s model needs image inputs: dataset.inputShape must be [height, width, channels], got %s"
                % (model["type"], _count(len(shape), "dimension"))
            )

    if sched is not None:
        epochs = sched.get("epochs") if _is_int(sched.get("epochs")) else None
        decay = _obj(sched, "decay")
        if decay is not None and isinstance(decay.get("epochs"), list):
            previous = None
            for i, e in enumerate(decay["epochs"]):
                if not _is_int(e):
                    continue
                if previous is not None and e <= previous:
                    errors.append(
                        "schedule.decay.epochs must be strictly increasing: %d comes after %d" % (e, previous)
                    )
                elif epochs is not None and e >= epochs:
                    warnings.append(
                        "schedule.decay.epochs[%d] = %d never applies: training stops after schedule.epochs = %d "
                        "epochs" % (i, e, epochs)
                    )
                previous = e if previous is None else max(previous, e)
        warmup = sched.get("warmupEpochs")
        if epochs is not None and _is_number(warmup) and warmup >= epochs:
            warnings.append(
                "schedule.warmupEpochs %s is not below schedule.epochs %d: the warmup never ends"
                % (_num(warmup), epochs)
            )

    if opt is not None:
        t = opt.get("type")
        if any(t in owners for owners in OPTION_OWNERS.values()):
            for option, owners in OPTION_OWNERS.items():
                if option in opt and t not in owners:
                    warnings.append("optimizer.%s is ignored by %s (it applies to %s)" % (option, t, ", ".join(owners)))
            if (
                t == "sgd"
                and opt.get("nesterov") is True
                and not (_is_number(opt.get("momentum")) and opt["momentum"] > 0)
            ):
                warnings.append("optimizer.nesterov has no effect without momentum: set optimizer.momentum > 0")

    if mon is not None and "everySteps" in mon and "recordsPerEpoch" in mon:
        warnings.append("monitoring.recordsPerEpoch is ignored because monitoring.everySteps is set")

    lm = opt.get("layerMultipliers") if opt is not None else None
    if schema_ok and model is not None and isinstance(lm, (list, dict)):
        names = kernel_layer_names(with_model_defaults(model))
        if isinstance(lm, list) and len(lm) != len(names):
            errors.append(
                "optimizer.layerMultipliers has %d entries but the model has %s (%s); give one multiplier per "
                'kernel layer in forward order, or an object {"layerName": multiplier}'
                % (len(lm), _count(len(names), "kernel layer"), ", ".join(names))
            )
        if isinstance(lm, dict):
            for k in lm:
                if k not in names:
                    errors.append(
                        "optimizer.layerMultipliers.%s: unknown layer '%s'; the model's kernel layers are %s"
                        % (k, k, ", ".join(names))
                    )
    return errors, warnings


def check_raw(raw):
    """(errors, warnings) of a parsed config object: the schema's, then the cross-field rules'.
    Raises JsonschemaMissing when jsonschema is missing."""
    if not isinstance(raw, dict):
        return ["the config must be a JSON object"], []
    errors = schema_errors(raw)
    more, warnings = semantic_checks(raw, not errors)
    return errors + more, warnings


def parse_config_text(text, file="config.layerrot.json"):
    """(config, warnings) from config text; raises ConfigError listing every error."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        raw = json.loads(strip_jsonc(text))
    except json.JSONDecodeError as e:
        raise ConfigError(["%d:%d: not valid JSON: %s" % (e.lineno, e.colno, e.msg)], file)
    except ConfigError as e:
        raise ConfigError(e.errors, file)
    try:
        errors, warnings = check_raw(raw)
    except JsonschemaMissing:
        raise JsonschemaMissing(file) from None
    if errors:
        raise ConfigError(errors, file)
    return with_defaults(raw, file), warnings


def load_config(file):
    """(config, warnings) from a config file; raises ConfigError."""
    try:
        with open(file, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(["cannot read the config file: %s" % e], file)
    return parse_config_text(text, file)


def load_resolved(file, config_file):
    """A config already validated and defaulted by the TS validator (--resolved-config). Works
    without jsonschema: the sections the schema requires must be objects, and the cross-field
    rules are checked again; with jsonschema, the schema too (keys this version does not know
    are the newer validator's business, not errors). Defaults are filled again (harmless)."""
    with open(file, encoding="utf-8") as f:
        raw = json.load(f)
    if not isinstance(raw, dict):
        raise ConfigError(["the config must be a JSON object"], file)
    try:
        errors = [e for e in schema_errors(raw) if ": unknown key '" not in e]
    except JsonschemaMissing:  # the editor has checked the schema
        errors = [
            "missing required key '%s' at the top level" % key
            for key in config_schema()["required"]
            if not isinstance(raw.get(key), dict)
        ]
    if not errors:
        errors = semantic_checks(raw, True)[0]
    if errors:
        raise ConfigError(errors, file)
    return with_defaults(raw, config_file)
