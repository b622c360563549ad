"""Training configs (`*.layerrot.json`): JSON with comments and trailing commas, checked with
errors that name the field, and the defaults of CONFIG_DEFAULTS in src/engine/config/validate.ts.

The result has the shape of TrainingConfig (src/engine/config/types.ts). The TS validator is the
reference: the extension may pass its fully resolved config (--resolved-config) instead.
"""
import copy
import json
import os
import re

DEFAULTS = {
    "seed": 0,
    "engine": "tfjs",
    "backend": "auto",
    "pytorch": {"device": "auto", "processes": 1},
    "dataset": {"validationSplit": 0, "normalize": True},
    "model": {
        "common": {"kernelInitializer": "he_normal", "useBias": True},
        "mlp": {"activation": "relu"},
        "vgg": {"convsPerStage": 2, "kernelSize": 3, "batchNorm": True, "dense": []},
        "resnet": {"filters": [16, 32, 64], "batchNorm": True},
    },
    "optimizer": {
        "layca": False,
        "momentum": 0,
        "nesterov": False,
        "beta1": 0.9,
        "beta2": 0.999,
        "rho": 0.9,
        "initialAccumulatorValue": 0.1,
        "epsilon": 1e-8,
        "weightDecay": 0,
        "alpha": 0,
    },
    "schedule": {"warmupEpochs": 0},
    "monitoring": {"recordsPerEpoch": 10, "target": 1, "lagMargin": 0.2},
}

DATASETS = ("mnist", "cifar10", "synthetic")
MODELS = ("mlp", "vgg", "resnet")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad")
INITIALIZERS = ("he_uniform", "he_normal", "glorot_uniform")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
ENGINES = ("tfjs", "pytorch")
BACKENDS = ("auto", "node-gpu", "node", "wasm", "cpu")
DEVICES = ("auto", "cpu", "cuda")

KEYS = {
    "": (
        "$schema",
        "name",
        "seed",
        "engine",
        "backend",
        "pytorch",
        "dataset",
        "model",
        "optimizer",
        "schedule",
        "monitoring",
        "stopping",
    ),
    "pytorch": ("device", "processes"),
    "dataset": (
        "name",
        "path",
        "samples",
        "testSamples",
        "inputShape",
        "classes",
        "trainSubset",
        "testSubset",
        "validationSplit",
        "normalize",
    ),
    "model": (
        "type",
        "hidden",
        "activation",
        "filters",
        "convsPerStage",
        "kernelSize",
        "batchNorm",
        "dense",
        "depth",
        "kernelInitializer",
        "useBias",
    ),
    "optimizer": (
        "type",
        "layca",
        "learningRate",
        "momentum",
        "nesterov",
        "beta1",
        "beta2",
        "rho",
        "initialAccumulatorValue",
        "epsilon",
        "weightDecay",
        "alpha",
        "layerMultipliers",
    ),
    "schedule": ("epochs", "batchSize", "decay", "warmupEpochs"),
    "monitoring": ("everySteps", "recordsPerEpoch", "target", "lagMargin"),
    "stopping": ("lossBelow", "plateau", "chance"),
}


class ConfigError(Exception):
    """A config that cannot be used; `errors` lists one message per problem, each naming the field."""

    def __init__(self, errors, file=None):
        self.errors = list(errors)
        self.file = file
        prefix = (file + ": ") if file else ""
        super().__init__("invalid config:\n" + "\n".join(prefix + e for e in self.errors))


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


def kernel_layer_names(model):
    """Names of a (defaulted) model spec's kernel layers, in forward order (as kernelLayerNames in TS)."""
    return [name for name, _ in kernel_layer_sources(model)]


def kernel_layer_sources(model):
    """[(name, configPath)] of the kernel layers, as layerSourcePaths in validate.ts."""
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
        n = max(0, (model["depth"] - 2) // 6)
        src = ["model", "depth"]
        layers = [("conv1", src)]
        for s in range(1, 4):
            for b in range(1, n + 1):
                layers += [("s%db%d_conv1" % (s, b), src), ("s%db%d_conv2" % (s, b), src)]
                if s >= 2 and b == 1:
                    layers.append(("s%db1_shortcut" % s, src))
        return layers + [("output", ["model"])]
    raise ValueError("unknown model type %r" % t)


class _Checker:
    def __init__(self):
        self.errors = []
        self.warnings = []

    def err(self, msg):
        self.errors.append(msg)

    def number(self, obj, key, where, required=False, integer=False, lo=None, hi=None, lo_open=False, hi_open=False):
        path = "%s.%s" % (where, key) if where else key
        if key not in obj:
            if required:
                self.err("%s: missing required key '%s'" % (where or "the config", key))
            return
        v = obj[key]
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        if ok and integer and not (isinstance(v, int) or float(v).is_integer()):
            ok = False
        if ok and lo is not None and (v <= lo if lo_open else v < lo):
            ok = False
        if ok and hi is not None and (v >= hi if hi_open else v > hi):
            ok = False
        if not ok:
            what = "an integer" if integer else "a number"
            rng = ""
            if lo is not None and hi is not None:
                rng = " in %s%s, %s%s" % ("(" if lo_open else "[", lo, hi, ")" if hi_open else "]")
            elif lo is not None:
                rng = " %s %s" % (">" if lo_open else ">=", lo)
            self.err("%s must be %s%s, got %s" % (path, what, rng, json.dumps(v)))

    def enum(self, obj, key, where, allowed, required=False, what=None):
        path = "%s.%s" % (where, key) if where else key
        if key not in obj:
            if required:
                self.err("%s: missing required key '%s', one of %s" % (where or "the config", key, ", ".join(allowed)))
            return
        v = obj[key]
        if v not in allowed:
            if what:
                self.err("%s: unknown %s %s (expected %s)" % (path, what, _show(v), ", ".join(allowed)))
            else:
                self.err("%s must be one of %s, got %s" % (path, ", ".join(allowed), _show(v)))

    def boolean(self, obj, key, where):
        if key in obj and not isinstance(obj[key], bool):
            self.err("%s.%s must be true or false, got %s" % (where, key, _show(obj[key])))

    def int_list(self, obj, key, where, required=False, lo=1, nonempty=False):
        path = "%s.%s" % (where, key)
        if key not in obj:
            if required:
                self.err("%s: missing required key '%s'" % (where, key))
            return
        v = obj[key]
        if (
            not isinstance(v, list)
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= lo for x in v)
            or (nonempty and not v)
        ):
            self.err(
                "%s must be %sarray of integers >= %d, got %s"
                % (path, "a non-empty " if nonempty else "an ", lo, _show(v))
            )

    def keys(self, obj, section):
        allowed = KEYS[section]
        for k in obj:
            if k not in allowed:
                where = ("in %s" % section) if section else "at the top level"
                self.err(
                    "%s: unknown key '%s' %s; allowed keys: %s"
                    % (
                        section + "." + k if section else k,
                        k,
                        where,
                        ", ".join(a for a in allowed if not a.startswith("$")),
                    )
                )


def _show(v):
    if isinstance(v, str):
        return "'%s'" % v
    return json.dumps(v)


def _section(raw, key, c, required=True):
    v = raw.get(key)
    if v is None:
        if required:
            c.err("missing required key '%s' at the top level" % key)
        return None
    if not isinstance(v, dict):
        c.err("%s must be an object, got %s" % (key, _show(v)))
        return None
    c.keys(v, key)
    return v


def check_raw(raw):
    """(errors, warnings) of a parsed config object."""
    c = _Checker()
    if not isinstance(raw, dict):
        return ["the config must be a JSON object"], []
    c.keys(raw, "")
    if "name" in raw and (not isinstance(raw["name"], str) or not raw["name"]):
        c.err("name must be a non-empty string, got %s" % _show(raw["name"]))
    c.number(raw, "seed", "", integer=True, lo=0)
    c.enum(raw, "engine", "", ENGINES, what="engine")
    c.enum(raw, "backend", "", BACKENDS, what="backend")
    pt = _section(raw, "pytorch", c, required=False)
    if pt is not None:
        c.enum(pt, "device", "pytorch", DEVICES, what="device")
        c.number(pt, "processes", "pytorch", integer=True, lo=1)
    ds = _section(raw, "dataset", c)
    if ds is not None:
        c.enum(ds, "name", "dataset", DATASETS, required=True, what="dataset")
        if ds.get("name") == "cifar10" and not isinstance(ds.get("path"), str):
            c.err("dataset: missing required key 'path' (the folder holding data_batch_1.bin ... test_batch.bin)")
        if "path" in ds and not isinstance(ds["path"], str):
            c.err("dataset.path must be a string, got %s" % _show(ds["path"]))
        if ds.get("name") == "synthetic":
            c.number(ds, "samples", "dataset", required=True, integer=True, lo=1)
            c.number(ds, "testSamples", "dataset", required=True, integer=True, lo=0)
            c.number(ds, "classes", "dataset", required=True, integer=True, lo=2, hi=256)
            c.int_list(ds, "inputShape", "dataset", required=True, nonempty=True)
        c.number(ds, "trainSubset", "dataset", integer=True, lo=1)
        c.number(ds, "testSubset", "dataset", integer=True, lo=1)
        c.number(ds, "validationSplit", "dataset", lo=0, hi=1, hi_open=True)
        c.boolean(ds, "normalize", "dataset")
    model = _section(raw, "model", c)
    if model is not None:
        c.enum(model, "type", "model", MODELS, required=True, what="model type")
        c.enum(model, "kernelInitializer", "model", INITIALIZERS, what="initializer")
        c.enum(model, "activation", "model", ACTIVATIONS, what="activation")
        c.boolean(model, "useBias", "model")
        c.boolean(model, "batchNorm", "model")
        t = model.get("type")
        if t == "mlp":
            c.int_list(model, "hidden", "model", required=True)
        elif t == "vgg":
            c.int_list(model, "filters", "model", required=True, nonempty=True)
            c.int_list(model, "dense", "model")
            c.number(model, "kernelSize", "model", integer=True, lo=1)
            cps = model.get("convsPerStage")
            if isinstance(cps, list):
                c.int_list(model, "convsPerStage", "model", lo=0)
                if isinstance(model.get("filters"), list) and len(cps) != len(model["filters"]):
                    c.err(
                        "model.convsPerStage has %d entries but filters has %d stages; give one number per stage, "
                        "or a single number for all stages" % (len(cps), len(model["filters"]))
                    )
            else:
                c.number(model, "convsPerStage", "model", integer=True, lo=1)
        elif t == "resnet":
            c.number(model, "depth", "model", required=True, integer=True, lo=8)
            d = model.get("depth")
            if isinstance(d, int) and d >= 8 and (d - 2) % 6 != 0:
                below = d - (d - 2) % 6
                c.err(
                    "model.depth %d is not a valid ResNet depth: it must be 6n+2 (8, 14, 20, 26, 32, ...); "
                    "nearest valid depths: %d or %d" % (d, below, below + 6)
                )
            c.int_list(model, "filters", "model")
            if isinstance(model.get("filters"), list) and len(model["filters"]) != 3:
                c.err("model.filters must be an array of 3 integers >= 1 (one per stage)")
        if t in ("vgg", "resnet") and ds is not None and ds.get("name") == "synthetic":
            shape = ds.get("inputShape")
            if isinstance(shape, list) and len(shape) != 3:
                c.err(
                    "a %s model needs image inputs: dataset.inputShape must be [height, width, channels], got %d "
                    "dimension(s)" % (t, len(shape))
                )
    opt = _section(raw, "optimizer", c)
    if opt is not None:
        c.enum(opt, "type", "optimizer", OPTIMIZERS, required=True, what="optimizer")
        c.number(opt, "learningRate", "optimizer", required=True, lo=0, lo_open=True)
        c.boolean(opt, "layca", "optimizer")
        c.boolean(opt, "nesterov", "optimizer")
        c.number(opt, "momentum", "optimizer", lo=0, hi=1, hi_open=True)
        c.number(opt, "beta1", "optimizer", lo=0, hi=1, hi_open=True)
        c.number(opt, "beta2", "optimizer", lo=0, hi=1, hi_open=True)
        c.number(opt, "rho", "optimizer", lo=0, hi=1, hi_open=True)
        c.number(opt, "initialAccumulatorValue", "optimizer", lo=0)
        c.number(opt, "epsilon", "optimizer", lo=0)
        c.number(opt, "weightDecay", "optimizer", lo=0)
        c.number(opt, "alpha", "optimizer", lo=-1, hi=1, lo_open=True, hi_open=True)
        lm = opt.get("layerMultipliers")
        if lm is not None:
            if isinstance(lm, list):
                bad = not all(isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0 for x in lm)
            elif isinstance(lm, dict):
                bad = not all(isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0 for x in lm.values())
            else:
                bad = True
            if bad:
                c.err(
                    "optimizer.layerMultipliers must be an array of numbers >= 0 or an object mapping layer names "
                    "to numbers >= 0"
                )
            elif model is not None and not c.errors:
                names = kernel_layer_names(with_model_defaults(model))
                if isinstance(lm, list) and len(lm) != len(names):
                    c.err(
                        "optimizer.layerMultipliers has %d entries but the model has %d kernel layers (%s); give one "
                        'multiplier per kernel layer in forward order, or an object {"layerName": multiplier}'
                        % (len(lm), len(names), ", ".join(names))
                    )
                if isinstance(lm, dict):
                    for k in lm:
                        if k not in names:
                            c.err(
                                "optimizer.layerMultipliers.%s: unknown layer '%s'; the model's kernel layers are %s"
                                % (k, k, ", ".join(names))
                            )
    sched = _section(raw, "schedule", c)
    if sched is not None:
        c.number(sched, "epochs", "schedule", required=True, integer=True, lo=1)
        c.number(sched, "batchSize", "schedule", required=True, integer=True, lo=1)
        c.number(sched, "warmupEpochs", "schedule", lo=0)
        decay = sched.get("decay")
        if decay is not None:
            if not isinstance(decay, dict) or "factor" not in decay or "epochs" not in decay:
                c.err('schedule.decay must be an object {"factor": number, "epochs": [integers]}')
            else:
                c.number(decay, "factor", "schedule.decay", lo=0, lo_open=True)
                c.int_list(decay, "epochs", "schedule.decay", lo=0)
    mon = _section(raw, "monitoring", c, required=False)
    if mon is not None:
        c.number(mon, "everySteps", "monitoring", integer=True, lo=1)
        c.number(mon, "recordsPerEpoch", "monitoring", integer=True, lo=1)
        c.number(mon, "target", "monitoring", lo=0, hi=2)
        c.number(mon, "lagMargin", "monitoring", lo=0)
        if "everySteps" in mon and "recordsPerEpoch" in mon:
            c.warnings.append("monitoring.recordsPerEpoch is ignored because monitoring.everySteps is set")
    stop = _section(raw, "stopping", c, required=False)
    if stop is not None:
        c.number(stop, "lossBelow", "stopping", lo=0)
        for key, fields in (("plateau", ("epochs", "tolerance")), ("chance", ("epochs", "margin"))):
            v = stop.get(key)
            if v is not None:
                if not isinstance(v, dict):
                    c.err("stopping.%s must be an object with %s" % (key, " and ".join(fields)))
                    continue
                c.number(v, fields[0], "stopping." + key, required=True, integer=True, lo=1)
                c.number(v, fields[1], "stopping." + key, required=True, lo=0)
    return c.errors, c.warnings


def with_model_defaults(model):
    d = copy.deepcopy(DEFAULTS["model"])
    out = dict(d["common"])
    out.update(d.get(model.get("type"), {}))
    out.update(model)
    return out


def with_defaults(raw, file):
    """The config with every default filled in (as withDefaults in validate.ts)."""
    d = copy.deepcopy(DEFAULTS)
    ds = dict(d["dataset"])
    ds.update(raw["dataset"])
    opt = dict(d["optimizer"])
    opt.update(raw["optimizer"])
    sched = dict(d["schedule"])
    sched.update(raw["schedule"])
    mon = dict(d["monitoring"])
    mon.update(raw.get("monitoring") or {})
    pt = dict(d["pytorch"])
    pt.update(raw.get("pytorch") or {})
    return {
        "name": raw.get("name") or default_config_name(file),
        "seed": raw.get("seed", d["seed"]),
        "engine": raw.get("engine", d["engine"]),
        "backend": raw.get("backend", d["backend"]),
        "pytorch": pt,
        "dataset": ds,
        "model": with_model_defaults(raw["model"]),
        "optimizer": opt,
        "schedule": sched,
        "monitoring": mon,
        "stopping": dict(raw.get("stopping") or {}),
    }


def parse_config_text(text, file="config.layerrot.json"):
    """(config, warnings) from config text; raises ConfigError listing every error."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        raw = json.loads(strip_jsonc(text))
    except json.JSONDecodeError as e:
        raise ConfigError(["%d:%d: not valid JSON: %s" % (e.lineno, e.colno, e.msg)], file)
    errors, warnings = check_raw(raw)
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
    """A config already validated and defaulted by the TS validator (--resolved-config); defaults
    are filled again for safety (harmless when already there)."""
    with open(file, encoding="utf-8") as f:
        raw = json.load(f)
    # Keys this version does not know are the newer TS validator's business: not errors here.
    errors = [e for e in check_raw(raw)[0] if ": unknown key '" not in e]
    if errors:
        raise ConfigError(errors, file)
    return with_defaults(raw, config_file)
