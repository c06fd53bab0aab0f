#!/usr/bin/env python3
"""Writes ONNX's backend node tests (model.onnx + test_data_set_*/input_*.pb, output_*.pb per test)
into OUT_DIR/node with the onnx package's own generator, and OUT_DIR/schemas.json: per default-domain
operator, the opset versions in which it changed (its since_version history).

    /usr/bin/python3 test/conformance/generate-onnx-node-tests.py OUT_DIR

Debian's python3-onnx is onnx 1.12, written for numpy < 1.24: its test cases still use the aliases
np.float, np.int, np.bool, np.object, ... that numpy 1.24 removed, so they are restored (as the builtins
they always were) before onnx is imported. Used by test/conformance/onnx-node-tests.ts.
"""
import builtins
import json
import os
import runpy
import sys
import warnings

import numpy as np

warnings.simplefilter('ignore')
for alias in ('float', 'int', 'bool', 'object', 'str', 'complex'):
    if alias not in np.__dict__:
        setattr(np, alias, getattr(builtins, alias))
if 'long' not in np.__dict__:
    np.long = int
if 'unicode' not in np.__dict__:
    np.unicode = str

import onnx  # noqa: E402  (after the aliases)
import onnx.defs  # noqa: E402


def main() -> int:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    history: dict = {}
    for schema in onnx.defs.get_all_schemas_with_history():
        if schema.domain in ('', 'ai.onnx'):
            history.setdefault(schema.name, set()).add(schema.since_version)
    with open(os.path.join(out, 'schemas.json'), 'w') as f:
        json.dump({'onnx': onnx.__version__, 'ops': {k: sorted(v) for k, v in sorted(history.items())}}, f, indent=1)
    sys.argv = ['onnx.backend.test.cmd_tools', 'generate-data', '-o', out]
    runpy.run_module('onnx.backend.test.cmd_tools', run_name='__main__')
    return 0


if __name__ == '__main__':
    sys.exit(main())
