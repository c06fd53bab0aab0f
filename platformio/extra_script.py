# PlatformIO pre-build script of tinym2: regenerates a model's C sources (`tinym2 compile`) into the
# project's lib/<name>/ (a PlatformIO library: compile writes its library.json) when the model, the
# calibration rows, the plan, the options or tinym2's version changed; otherwise it does nothing.
#
# platformio.ini:
#   [env:nano33ble]
#   lib_deps = tinym2=file://node_modules/tinym2/platformio
#   custom_tinym2_model = models/kws.onnx
#   custom_tinym2_calib = models/calib.npz
#   custom_tinym2_name = kws                  ; optional (default: from the model file name)
#   custom_tinym2_precision = mixed           ; or custom_tinym2_plan = plan.json, or custom_tinym2_flash = 160KB
#   custom_tinym2_board = nrf52840-dk         ; optional
#   custom_tinym2_command = npx tinym2        ; optional
#
# Whether to regenerate is decided by a sha256 of the inputs' bytes and the options, kept in
# lib/<name>/.tinym2-inputs: touching a file changes nothing, editing it regenerates.
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys

OPTIONS = ("precision", "plan", "flash", "board")
STAMP = ".tinym2-inputs"


def _option(env, name, default=None):
    value = env.GetProjectOption("custom_tinym2_" + name, default)
    return value.strip() if isinstance(value, str) else value


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def plan_generation(env):
    """What to run and where, from the project options: (argv, out_dir, fingerprint)."""
    project = env.subst("$PROJECT_DIR")
    model = _option(env, "model")
    calib = _option(env, "calib")
    if not model or not calib:
        raise SystemExit("tinym2: set custom_tinym2_model and custom_tinym2_calib in platformio.ini")
    model = os.path.join(project, model)
    calib = os.path.join(project, calib)
    name = _option(env, "name") or re.sub(r"[^A-Za-z0-9_]", "_", os.path.splitext(os.path.basename(model))[0])
    out = os.path.join(project, "lib", name)
    command = shlex.split(_option(env, "command", "npx tinym2"))
    argv = command + ["compile", model, "--calib", calib, "--name", name, "-o", out, "--quiet"]
    inputs = {"model": _sha256(model), "calib": _sha256(calib), "name": name, "command": command}
    for opt in OPTIONS:
        value = _option(env, opt)
        if value:
            argv += ["--" + opt, value]
            inputs[opt] = value
            if opt == "plan":
                inputs["planSha256"] = _sha256(os.path.join(project, value))
    version = subprocess.run(command + ["--version"], capture_output=True, text=True, check=True).stdout.strip()
    inputs["tinym2"] = version
    fingerprint = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return argv, out, fingerprint


def generate(env, run=subprocess.run):
    """Runs tinym2 compile when the fingerprint differs from the one stored in the output folder. Returns whether it ran."""
    argv, out, fingerprint = plan_generation(env)
    stamp = os.path.join(out, STAMP)
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read().strip() == fingerprint:
                print("tinym2: %s is up to date" % os.path.relpath(out, env.subst("$PROJECT_DIR")))
                return False
    print("tinym2: " + " ".join(shlex.quote(a) for a in argv))
    result = run(argv)
    if result.returncode != 0:
        sys.stderr.write("tinym2: compile failed (exit %d)\n" % result.returncode)
        raise SystemExit(result.returncode)
    with open(stamp, "w") as f:
        f.write(fingerprint + "\n")
    return True


try:
    Import("env")  # noqa: F821 -- SCons, when PlatformIO runs this script
except NameError:
    env = None
if env is not None:
    generate(env)
